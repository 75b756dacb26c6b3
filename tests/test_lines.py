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


def _typed_lines(texts: list[str], pitch: int = 30, width: int = 1400, only: int | None = None) -> np.ndarray:
    """Lines of text set tight, one below the other, grey paper, as a typescript's lines are
    (``only``: just that one of them, where it would be)."""
    image = np.full((pitch * len(texts) + 10, width), 200, np.uint8)
    for i, text in enumerate(texts):
        if only is None or i == only:
            cv2.putText(image, text, (10, 24 + i * pitch), cv2.FONT_HERSHEY_SIMPLEX, 0.95, 40, 2, cv2.LINE_AA)
    return image


def _ink_box(image: np.ndarray) -> tuple[int, int, int, int]:
    rows, cols = np.flatnonzero((image < 120).any(axis=1)), np.flatnonzero((image < 120).any(axis=0))
    return int(cols[0]), int(rows[0]), int(cols[-1]) + 1, int(rows[-1]) + 1


def _tilted(image: np.ndarray, degrees: float) -> np.ndarray:
    from crnn.imaging import rotate

    return rotate(image, degrees, 200)


LINES = ["gypsy quarters by the jetty qualify", "THE MIDDLE LINE IS THIS ONE HERE AND NOW",
         "jumpy yoghurt pygmy grips and quips"]


@pytest.mark.parametrize("degrees", [-1.5, 1.2])
def test_a_line_image_cut_from_a_skewed_page_is_straightened(degrees):
    from crnn.layout import straighten_line

    straight = _typed_lines(LINES)
    turned, skew = straighten_line(_tilted(straight, degrees))
    assert abs(skew - degrees) < 0.3
    assert turned.shape[1] == straight.shape[1] and turned.shape[0] > straight.shape[0]  # room for its ends
    same, none = straighten_line(straight)
    assert none == 0.0 and same is straight


def test_a_crop_holding_its_neighbours_is_read_in_its_middle_lines_rows():
    from crnn.layout import central_line_rows

    image = _typed_lines(LINES, pitch=24)[:, :1000]  # descenders and capitals leave no blank row between
    top, bottom = central_line_rows(image)
    _, above, _, below = _ink_box(_typed_lines(LINES, pitch=24, only=1)[:, :1000])
    _, _, _, first_bottom = _ink_box(_typed_lines(LINES, pitch=24, only=0)[:, :1000])
    assert first_bottom > above  # the lines' ink overlaps in rows: no blank row parts them
    # from below the first line's baseline to above the third line's letters, the middle line whole
    first_baseline, third_x_top = 24, 24 + 2 * 24 - 14
    assert first_baseline <= top <= above and below <= bottom <= third_x_top
    one_line = _typed_lines(LINES[1:2])
    assert central_line_rows(one_line) == (0, one_line.shape[0])


def test_a_tilted_crop_of_three_lines_yields_the_middle_line_box_on_the_image():
    from crnn.layout import segment_page

    image = _tilted(_typed_lines(LINES), 1.2)
    layout = segment_page(image, single_line=True)
    (line,) = layout.lines
    x0, y0, x1, y1 = _ink_box(_tilted(_typed_lines(LINES, only=1), 1.2))
    box = line.box
    assert abs(box.x0 - x0) <= 3 and abs(box.x1 - x1) <= 3  # the box is on the image as given
    assert box.y0 <= y0 + 3 and box.y1 >= y1 - 3 and box.height <= (y1 - y0) + 8
    assert abs(layout.skew_degrees - 1.2) < 0.3
