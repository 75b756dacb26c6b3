import cv2
import numpy as np
import pytest

from crnn.imaging import EmptyLineError, LineGeometry, flatten_illumination, line_extent, normalize_line, text_band


def _text_image(text="Hamburgefonts", scale=1.2, thickness=2, size=(80, 420), paper=200, ink=40):
    image = np.full(size, paper, np.uint8)
    cv2.putText(image, text, (20, 50), cv2.FONT_HERSHEY_SIMPLEX, scale, ink, thickness, cv2.LINE_AA)
    return image


@pytest.mark.parametrize("height", [24, 32, 48])
def test_normalized_line_has_the_configured_height(height):
    line = normalize_line(_text_image(), LineGeometry(height=height))
    assert line.shape[0] == height
    assert line.dtype == np.uint8
    assert line.shape[1] > 4 * height


def test_paper_becomes_white_and_ink_black():
    line = normalize_line(_text_image(paper=170, ink=90))
    assert np.percentile(line, 90) == 255
    assert line.min() == 0


def test_blank_crop_is_an_error():
    with pytest.raises(EmptyLineError):
        normalize_line(np.full((40, 200), 180, np.uint8))


def test_framing_ignores_margins_and_scale():
    small = normalize_line(_text_image(size=(80, 420)))
    padded = cv2.copyMakeBorder(_text_image(size=(80, 420)), 60, 60, 90, 90, cv2.BORDER_CONSTANT, value=200)
    large = cv2.resize(padded, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    framed = normalize_line(large)
    assert abs(framed.shape[1] - small.shape[1]) <= 0.05 * small.shape[1]


def test_neighbour_line_fragments_do_not_widen_the_band():
    image = _text_image(size=(140, 420))
    alone = normalize_line(image)
    # descenders of a line above: a thin strip of ink near the top edge
    with_fragment = image.copy()
    with_fragment[2:6, 40:300:7] = 40
    assert normalize_line(with_fragment).shape == alone.shape


def test_text_band_takes_the_heaviest_run():
    profile = np.zeros(60, np.float32)
    profile[5:8] = 90  # dense, thin fragment
    profile[20:32] = 80  # the real line's x-height band
    profile[16:20] = 10  # its ascenders
    profile[32:36] = 10  # its descenders
    assert text_band(profile) == (16, 36)


def test_flatten_illumination_removes_a_gradient():
    gradient = np.tile(np.linspace(90, 230, 400).astype(np.uint8), (60, 1))
    flat = flatten_illumination(gradient, 30)
    assert flat.min() > 200


def _typewriter_line() -> np.ndarray:
    # a typewriter face: heavy serifs along the x-height and the baseline hold more ink than the
    # thin stems between them, but the stems are where the letters are
    image = np.full((80, 420), 200, np.uint8)
    for k in range(12):
        x = 20 + 32 * k
        image[30:50, x : x + 2] = image[30:50, x + 14 : x + 16] = 40
        image[30:33, x - 3 : x + 18] = image[47:50, x - 3 : x + 18] = 40
    return image


def test_slab_serif_rows_do_not_take_the_text_band():
    _, top, _, bottom = line_extent(_typewriter_line())
    assert top <= 31 and bottom >= 49


def test_an_underline_does_not_take_the_text_band():
    image = _typewriter_line()
    image[52:56, 15:405] = 40  # more ink than any row of the letters
    _, top, _, bottom = line_extent(image)
    assert top <= 31 and bottom <= 57


def test_a_crop_of_two_lines_frames_the_one_in_its_middle():
    # a line cut with a generous box: a whole neighbour line above, the line itself in the middle
    image = np.full((130, 640), 200, np.uint8)
    cv2.putText(image, "Hamburgefonts Hamburgefonts", (10, 28), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 40, 2, cv2.LINE_AA)
    cv2.putText(image, "Hamburgefonts", (10, 76), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 40, 2, cv2.LINE_AA)
    _, top, right, bottom = line_extent(image)
    assert top >= 45 and bottom <= 90
    assert right < 330


def test_a_page_number_between_dashes_keeps_its_whole_height():
    # "- 4 -" typed: the dashes (worn, one row broken into bits) cross the digit's middle, the
    # rows busiest with strokes; the band must still hold the digit from top to bottom
    image = np.full((91, 131), 200, np.uint8)
    image[36:50, 50:53] = image[36:66, 62:65] = 40  # the 4's slant and its stem
    image[50:56, 20:46] = image[50:56, 50:66] = image[50:56, 80:106] = 40  # the dashes and the 4's bar
    for x in range(20, 106, 5):
        image[56:58, x : x + 2] = 40  # under them, worn rows: bits of ink
    _, top, _, bottom = line_extent(image)
    assert top <= 37 and bottom >= 64
