import cv2
import numpy as np
import pytest

from crnn.imaging import EmptyLineError, LineGeometry, flatten_illumination, normalize_line, text_band


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
