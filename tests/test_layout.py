import io
import itertools

import cv2
import numpy as np
import pytest
from PIL import Image

from crnn.config import from_dict, to_dict
from crnn.evaluation.layout_score import score_layout
from crnn.imaging import rotate
from crnn.io import MAX_PIXELS, ImageError, load_image
from crnn.layout import LayoutConfig, LayoutError, save_debug, segment_page
from crnn.layout.binarize import binarize
from crnn.layout.components import connected_components, peel_strips, text_components
from crnn.layout.config import SpreadConfig
from crnn.layout.deskew import estimate_skew
from crnn.layout.profiles import line_bands
from crnn.layout.spread import find_gutter
from crnn.synth.pages import PageGenerator

# -- loading --------------------------------------------------------------------------------------


def _encode(image: Image.Image, fmt: str, **kwargs) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, fmt, **kwargs)
    return buffer.getvalue()


@pytest.mark.parametrize("mode", ["1", "L", "RGB", "RGBA", "I;16"])
def test_load_image_modes(mode):
    base = Image.new("L", (40, 30), 255)
    base.paste(0, (10, 10, 20, 20))
    image = base.convert(mode) if mode != "I;16" else Image.fromarray(np.asarray(base).astype(np.uint16) * 257)
    fmt = "TIFF" if mode in ("1", "I;16") else "PNG"
    gray = load_image(_encode(image, fmt))
    assert gray.shape == (30, 40) and gray.dtype == np.uint8
    assert gray[15, 15] < 50 and gray[2, 2] > 200


def test_transparent_pixels_become_white():
    image = Image.new("RGBA", (20, 20), (0, 0, 0, 0))
    assert load_image(_encode(image, "PNG")).min() == 255


def test_exif_orientation_is_applied():
    image = Image.new("L", (40, 20), 255)
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    gray = load_image(_encode(image, "JPEG", exif=exif))
    assert gray.shape == (40, 20)


@pytest.mark.parametrize(
    ("data", "message"),
    [(b"", "0 bytes"), (b"not an image at all", "not an image"), (None, "cannot decode")],
)
def test_bad_inputs_are_one_line_errors(data, message):
    if data is None:
        data = _encode(Image.new("RGB", (200, 200), (200, 100, 50)), "PNG")[:300]  # truncated
    with pytest.raises(ImageError, match=message):
        load_image(data)


def test_missing_file(tmp_path):
    with pytest.raises(ImageError, match="no such file"):
        load_image(tmp_path / "nope.png")


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")
def test_huge_image_is_refused_before_decoding():
    side = int(np.sqrt(MAX_PIXELS)) + 100
    data = _encode(Image.new("1", (side, side), 1), "PNG")
    with pytest.raises(ImageError, match="exceeds the limit"):
        load_image(data)


def test_a_lower_pixel_limit_is_checked_from_the_header():
    data = _encode(Image.new("L", (300, 200), 255), "PNG")
    assert load_image(data, max_pixels=60_000).shape == (200, 300)
    with pytest.raises(ImageError, match="300x200 exceeds the limit"):
        load_image(data, max_pixels=59_999)


def test_an_array_that_is_not_a_page_is_refused():
    with pytest.raises(LayoutError, match="8-bit"):
        segment_page(np.zeros((40, 40), np.float32))


@pytest.mark.parametrize("image", [np.full((1, 1), 255, np.uint8), np.full((600, 400), 235, np.uint8)])
def test_tiny_and_blank_pages_give_no_lines(image):
    result = segment_page(image)
    assert result.lines == [] and result.blocks == ()
    assert (result.width, result.height) == (image.shape[1], image.shape[0])


def test_photo_without_text_gives_no_lines():
    rng = np.random.default_rng(0)
    noise = cv2.GaussianBlur(rng.uniform(0, 255, (400, 600)).astype(np.uint8), (0, 0), 12)
    blobs = cv2.normalize(noise, None, 0, 255, cv2.NORM_MINMAX)
    assert segment_page(blobs).lines == []


# -- steps ----------------------------------------------------------------------------------------


def test_binarize_ignores_a_smooth_shadow():
    page = np.full((200, 400), 210, np.uint8)
    page[:, 300:] = np.linspace(210, 60, 100).astype(np.uint8)[None, :]  # gutter shadow
    cv2.putText(page, "ink", (40, 120), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 30, 5)
    mask = binarize(page, 60)
    assert mask[:, :250].sum() > 300
    # the image's last columns are left to the page-border rule of the component filter
    assert not mask[:, 300:-4].any()


@pytest.mark.parametrize("angle", [-2.5, -0.8, 0.0, 1.4, 3.0])
def test_skew_estimate(angle):
    page = np.full((600, 500), 255, np.uint8)
    for row in range(60, 560, 36):
        cv2.putText(page, "the quick brown fox jumps", (30, row), cv2.FONT_HERSHEY_SIMPLEX, 0.9, 0, 2)
    skewed = rotate(page, angle, 255)
    assert estimate_skew(skewed < 128) == pytest.approx(angle, abs=0.2)


def test_gutter_found_only_in_a_spread():
    page = np.zeros((300, 200), bool)
    page[20:280:12, 20:180] = True
    spread = np.hstack([page, np.zeros((300, 30), bool), page])
    gutter = find_gutter(spread)
    assert gutter is not None and 200 <= gutter <= 230
    assert find_gutter(page) is None
    # the threshold lives in the config: a spread narrower than the minimum aspect is one page
    assert find_gutter(spread, SpreadConfig(min_aspect=spread.shape[1] / spread.shape[0] + 0.01)) is None


def test_line_bands_split_touching_lines_and_keep_a_page_number():
    profile = np.zeros(200)
    for top in (10, 40, 70):  # three lines of 20 rows, the second touching the third
        profile[top : top + 20] = 300
    profile[60:70] = 20  # descenders of line 2 meeting ascenders of line 3
    profile[150:166] = 12  # a lone page number: few pixels per row
    bands = line_bands(profile, char_height=14)
    assert len(bands) == 4
    assert bands[-1][0] >= 148 and bands[-1][1] <= 168


def _text_page(height: int = 800, width: int = 600) -> np.ndarray:
    page = np.full((height, width), 255, np.uint8)
    for row in range(80, height - 60, 40):
        cv2.putText(page, "the quick fox", (40, row), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    return page


def test_page_border_is_not_an_illustration():
    page = _text_page()
    cv2.rectangle(page, (20, 20), (580, 780), 0, 3)  # a frame around the whole page
    found = text_components(page < 128)
    assert found.illustrations == []
    assert found.mask[40:760, 40:250].sum() > 0.9 * (page[40:760, 40:250] < 128).sum()


def test_letters_touching_an_edge_shadow_are_kept():
    page = _text_page()
    page[:, 300:340] = 0  # the dark edge of a gutter shadow, running the page's height
    cv2.putText(page, "as", (276, 200), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)  # the last word touches it
    found = text_components(page < 128)
    assert not found.mask[:, 305:335].any()  # the shadow's body is not text
    letters = (slice(180, 205), slice(270, 298))
    assert found.mask[letters].sum() > 0.8 * (page[letters] < 128).sum()


def test_full_height_picture_is_an_illustration():
    page = _text_page(width=900)
    rng = np.random.default_rng(3)
    picture = (420, 30, 880, 770)  # x0, y0, x1, y1: over 90% of the page's height
    cv2.rectangle(page, picture[:2], picture[2:], 0, 2)
    for _ in range(40):  # strokes joined to the frame, filling the picture
        points = np.stack([rng.integers(picture[0], picture[2], 4), rng.integers(picture[1], picture[3], 4)], 1)
        cv2.polylines(page, [points.astype(np.int32)], False, 0, 2)
    for y in range(100, 700, 90):  # loose letter-sized marks inside it
        cv2.putText(page, "x", (600, y), cv2.FONT_HERSHEY_SIMPLEX, 0.8, 0, 2)
    found = text_components(page < 128)
    assert len(found.illustrations) == 1
    box = found.illustrations[0]
    assert box.x0 <= picture[0] + 2 and box.y1 >= picture[3] - 2
    inside = (found.centroids[:, 0] > picture[0]) & (found.centroids[:, 1] > picture[1])
    assert not inside.any()
    assert found.mask[:, 40:250].any()


# -- whole pages ----------------------------------------------------------------------------------


def test_generated_pages_smoke():
    score = score_layout(range(3))
    assert score.recall >= 0.97 and score.precision >= 0.97 and score.lines_inside_illustrations == 0


@pytest.mark.slow
def test_generated_pages_recall_and_precision():
    score = score_layout(range(100, 160))
    assert score.recall >= 0.99
    assert score.precision >= 0.99
    assert score.lines_inside_illustrations == 0


def test_layout_config_round_trips_and_rejects_unknown_keys():
    config = LayoutConfig()
    assert from_dict(LayoutConfig, to_dict(config)) == config
    changed = from_dict(LayoutConfig, {"lines": {"min_aspect": 0.5}})
    assert changed.lines.min_aspect == 0.5 and changed.crop == config.crop
    with pytest.raises(ValueError, match="unknown key"):
        from_dict(LayoutConfig, {"lines": {"min_aspekt": 0.5}})


def _assert_reading_order(result) -> None:
    """Blocks left page first; within a page, each line starts below the one before."""
    assert [b.page_index for b in result.blocks] == sorted(b.page_index for b in result.blocks)
    for page_index in {b.page_index for b in result.blocks}:
        tops = [line.box.y0 for b in result.blocks if b.page_index == page_index for line in b.lines]
        assert all(a < b for a, b in itertools.pairwise(tops))


def test_reading_order_left_page_first():
    page = PageGenerator(7).generate(two_pages=True)
    found = segment_page(page.image)
    _assert_reading_order(found)
    assert len(found.page_boxes) == 2
    blocks = found.blocks
    assert [b.page_index for b in blocks] == sorted(b.page_index for b in blocks)
    for block in blocks:
        tops = [line.box.y0 for line in block.lines]
        assert tops == sorted(tops)


def test_reference_page_lines_match_its_transcription(reference_page):
    image, truth = reference_page
    result = segment_page(image)
    assert len(result.lines) == len(truth)
    assert all(line.crop.shape[0] == 32 for line in result.lines)
    _assert_reading_order(result)
    for line in result.lines:
        assert line.box.x1 <= result.width and line.box.y1 <= result.height
        assert not any(line.box.intersection_over_self(picture) > 0.2 for picture in result.illustration_boxes)


def test_debug_pictures(tmp_path):
    page = PageGenerator(4).generate(two_pages=True, min_illustrations=1)
    result = segment_page(page.image)
    written = save_debug(result, tmp_path, "p")
    assert [p.name for p in written] == ["p.lines.png", "p.binary.png", "p.profile.png"]
    overlay = cv2.imread(str(written[0]))
    assert overlay.shape[:2] == page.image.shape
    # the line boxes are drawn in green where the page had only grey
    b, g, r = (overlay[:, :, i].astype(int) for i in range(3))
    green = (g - b > 60) & (g - r > 60)
    box = result.lines[0].box
    assert green[box.y0, box.x0 : box.x1].mean() > 0.9
    assert cv2.imread(str(written[1])).shape[1] == 2 * result.analysis.binary.shape[1] + 8


def test_line_crops_under_a_sharp_shadow_edge_have_white_paper():
    """A shadow that begins with a sharp edge among a line's last words (the gutter of a
    photographed book) must be divided out of the crop, not left as a grey box the
    recognizer reads as letters."""
    from crnn.synth.config import RenderConfig
    from crnn.synth.render import select_fonts
    from crnn.synth.typeset import Typesetter

    font = next(f for f in select_fonts(RenderConfig()) if f.style == "regular")
    typesetter = Typesetter()
    texts = ["the captain of the ship had gone", "below to look at the engines",
             "while we waited on the deck for him", "and the sea was calm all that day",
             "until the evening came at last"]
    page = np.full((420, 900), 235, np.float32)
    for i, text in enumerate(texts):
        alpha = typesetter.render_alpha(text, font, 30, 1.0)
        page[60 + 60 * i : 60 + 60 * i + alpha.shape[0], 60 : 60 + alpha.shape[1]] -= 215 * alpha
    shade = np.ones(900, np.float32)
    shade[430:] = np.linspace(0.6, 0.45, 470)  # starts inside the first, third and fourth lines
    result = segment_page(np.clip(page * shade, 0, 255).astype(np.uint8))
    assert len(result.crops) == len(texts)
    for crop in result.crops:
        near_ink = cv2.dilate((crop < 128).astype(np.uint8), np.ones((3, 3), np.uint8)).astype(bool)
        assert np.percentile(crop[~near_ink], 1) >= 200


def test_connected_components_beyond_16_bit_labels():
    rows, cols = np.indices((700, 700))
    dots = (rows % 2 == 0) & (cols % 2 == 0)  # 122,500 separate pixels
    count, labels, stats, _ = connected_components(dots)
    assert count == 122_501 and labels.max() == 122_500
    assert (stats[1:, cv2.CC_STAT_AREA] == 1).all()


def test_peeled_pieces_get_labels_past_16_bits():
    mask = np.zeros((100, 400), bool)
    mask[50:54, :] = True  # a rule
    mask[30:50, 100:110] = True  # a letter standing on it
    labels = mask.astype(np.uint16)  # the rule-and-letter component is label 1 ...
    stats = np.zeros((65_535, 5), np.int32)  # ... of 65,535, so the letter needs label 65,536
    stats[0] = (0, 30, 400, 24, int(mask.sum()))
    centroids = np.zeros((65_535, 2))
    _, labels, count, stats, _ = peel_strips(mask, labels, stats, centroids, [0], 20.0)
    assert count == 65_537 and labels.dtype == np.int32
    assert (labels[30:45, 100:110] == 65_536).all() and labels[52, 300] == 0
    assert tuple(stats[-1, :3]) == (100, 30, 10)  # its foot goes with the rule's ragged outline
