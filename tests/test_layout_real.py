"""The layout on what real pages show: columns, wide gaps, punctuation at line ends, page numbers,
tight leading, bilevel scans, dark surrounds and page frames, rotated pages, single-line images.

Pages are typeset here with a book font, so each test knows where every line and word is.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw, ImageFont

from crnn.document import Box
from crnn.layout import segment_page
from crnn.synth.fonts import book_fonts

WORDS = ("the", "of", "and", "to", "in", "that", "was", "his", "with", "as", "it", "for", "by", "which", "had",
         "not", "be", "on", "this", "are", "from", "but", "they", "have", "were", "their", "been", "more",
         "would", "there", "all", "when", "said", "them", "into", "some", "other", "could", "over", "only",
         "than")


@dataclass
class Typeset:
    """A page image and, for each printed line, its ink box."""

    image: np.ndarray
    lines: list[Box]


@pytest.fixture(scope="module")
def font() -> ImageFont.FreeTypeFont:
    regular = [f for f in book_fonts() if f.style == "regular"]
    return ImageFont.truetype(str(regular[0].path), 30)


def _words(rng: np.random.Generator, count: int) -> str:
    return " ".join(rng.choice(WORDS, count))


def typeset(font, rows: list[list[tuple[int, str]]], size: tuple[int, int] = (1400, 1800), top: int = 120,
            pitch: int = 44) -> Typeset:
    """Each row is a list of (x, text) pieces printed on one baseline; returns the ink box of each row."""
    image = Image.new("L", size, 255)
    draw = ImageDraw.Draw(image)
    boxes = []
    for i, row in enumerate(rows):
        y = top + i * pitch
        box = None
        for x, text in row:
            draw.text((x, y), text, font=font, fill=0, anchor="ls")
            x0, y0, x1, y1 = draw.textbbox((x, y), text, font=font, anchor="ls")
            piece = Box(x0, y0, x1, y1)
            box = piece if box is None else box.union(piece)
        if box is not None:
            boxes.append(box)
    pixels = np.asarray(image)
    return Typeset(pixels, [_ink_box(pixels, box) for box in boxes])


def _ink_box(pixels: np.ndarray, box: Box) -> Box:
    """The inked extent inside a glyph box (the font's boxes include side bearings)."""
    ink = pixels[box.y0 : box.y1, box.x0 : box.x1] < 128
    ys, xs = np.flatnonzero(ink.any(axis=1)), np.flatnonzero(ink.any(axis=0))
    return Box(box.x0 + int(xs[0]), box.y0 + int(ys[0]), box.x0 + int(xs[-1]) + 1, box.y0 + int(ys[-1]) + 1)


def _matches(found: list[Box], truth: list[Box], min_iou: float = 0.5) -> int:
    return sum(any(t.iou(f) >= min_iou for f in found) for t in truth)


def test_two_columns_are_read_column_by_column(font):
    rng = np.random.default_rng(1)
    rows = [[(100, _words(rng, 5)), (760, _words(rng, 5))] for _ in range(20)]
    page = typeset(font, rows)
    gutter = 730
    lines = segment_page(page.image).lines
    assert len(lines) == 40
    assert all(line.box.x1 < gutter or line.box.x0 > gutter for line in lines)  # no line across the gutter
    sides = [line.box.x0 > gutter for line in lines]
    assert sides == [False] * 20 + [True] * 20  # the whole left column first


def test_a_heading_across_two_columns_comes_before_them(font):
    rng = np.random.default_rng(2)
    rows = [[(400, "A HEADING OVER BOTH COLUMNS")], []] + [[(100, _words(rng, 5)), (760, _words(rng, 5))]
                                                           for _ in range(12)]
    lines = segment_page(typeset(font, rows).image).lines
    assert len(lines) == 25
    assert lines[0].box.x0 < 700 < lines[0].box.x1  # the heading spans the gutter and is read first
    assert all(line.box.x1 < 730 for line in lines[1:13]) and all(line.box.x0 > 730 for line in lines[13:])


def _full_line(rng: np.random.Generator, font, width: int) -> str:
    text = _words(rng, 4)
    while font.getlength(text) < width:
        text += " " + str(rng.choice(WORDS))
    return text


def test_a_short_word_after_a_wide_gap_stays_on_its_line(font):
    rng = np.random.default_rng(3)
    rows = []
    for i in range(16):  # a paragraph; some lines end in a short word after a gap of three or four letters
        if i % 3 == 0:
            head = _full_line(rng, font, 640)
            rows.append([(100, head), (100 + int(font.getlength(head)) + 90, "him.")])
        else:
            rows.append([(100, _full_line(rng, font, 800) + ".")])
    page = typeset(font, rows)
    lines = segment_page(page.image).lines
    assert len(lines) == len(page.lines)
    for truth, line in zip(page.lines, lines, strict=True):
        assert line.box.x1 >= truth.x1 - 2, "the last word or the closing period was dropped"


def test_line_end_hyphens_and_opening_quotes_belong_to_their_lines(font):
    rng = np.random.default_rng(4)
    rows = [[(100, "\u201c" + _words(rng, 6) + " exam-")] for _ in range(12)]
    page = typeset(font, rows)
    lines = segment_page(page.image).lines
    assert len(lines) == 12
    for truth, line in zip(page.lines, lines, strict=True):
        assert line.box.x0 <= truth.x0 + 2 and line.box.x1 >= truth.x1 - 2


def test_page_numbers_beside_a_running_head_and_alone_at_the_foot_are_lines(font):
    rng = np.random.default_rng(5)
    rows = [[(100, "THE STORY OF THE LAKES"), (1200, "47")], []]
    rows += [[(100, _words(rng, 8))] for _ in range(20)]
    rows += [[], [], [(680, "48")]]
    page = typeset(font, rows)
    lines = segment_page(page.image).lines
    assert len(lines) == 22
    assert lines[0].box.x1 >= page.lines[0].x1 - 2  # the number stays on the running head's line
    last = lines[-1].box
    assert last.iou(page.lines[-1]) >= 0.5  # the lone folio at the foot


def test_lines_whose_descenders_touch_the_next_ascenders_are_separated(font):
    rng = np.random.default_rng(6)
    rows = [[(100, "gypsy jolly quip " + _words(rng, 5) + " bold")] for _ in range(24)]
    page = typeset(font, rows, pitch=30)  # tighter than the type's ascender-to-descender height
    lines = segment_page(page.image).lines
    assert len(lines) == 24
    assert _matches([line.box for line in lines], page.lines, 0.4) == 24


def _page_with_text(font, seed: int, count: int = 24) -> Typeset:
    rng = np.random.default_rng(seed)
    return typeset(font, [[(100, _words(rng, 9))] for _ in range(count)])


@pytest.mark.parametrize("mode", ["1", "P2", "P4"])
def test_bilevel_and_palette_scans_keep_every_line(font, tmp_path, mode):
    page = _page_with_text(font, 7)
    image = Image.fromarray(page.image)
    path = tmp_path / "scan.png"
    if mode == "1":
        image.point(lambda v: 255 if v > 128 else 0).convert("1").save(path)
    else:  # a palette of 2 or 4 greys, as 2-bit scans are stored
        levels = int(mode[1:])
        image.quantize(levels).save(path)
    assert Image.open(path).mode == mode[0]
    lines = segment_page(path).lines
    assert len(lines) == len(page.lines)


def test_a_page_photographed_on_a_dark_table_gives_only_its_lines(font):
    page = _page_with_text(font, 8, count=20)
    h, w = page.image.shape
    photo = np.full((h + 600, w + 600), 35, np.uint8)  # the table
    photo += np.random.default_rng(0).integers(0, 25, photo.shape, dtype=np.uint8)  # its grain
    photo[300 : 300 + h, 300 : 300 + w] = page.image
    lines = segment_page(photo).lines
    assert len(lines) == 20
    assert all(line.box.x0 >= 300 and line.box.x1 <= 300 + w for line in lines)


def test_text_inside_a_printed_frame_is_not_a_picture(font):
    page = _page_with_text(font, 9, count=20)
    framed = page.image.copy()
    framed[80:84, 60:1300] = 0  # a frame that does not reach the page's edges
    framed[1040:1044, 60:1300] = 0
    framed[80:1044, 60:64] = 0
    framed[80:1044, 1296:1300] = 0
    result = segment_page(framed)
    assert result.illustration_boxes == ()
    assert len(result.lines) == 20


@pytest.mark.parametrize("quarter_turns", [1, 2, 3])
def test_a_rotated_page_is_turned_upright(font, quarter_turns):
    page = _page_with_text(font, 10)
    rotated = np.ascontiguousarray(np.rot90(page.image, quarter_turns))  # counter-clockwise
    result = segment_page(rotated)
    assert result.rotation_degrees == 90 * quarter_turns
    assert (result.width, result.height) == (page.image.shape[1], page.image.shape[0])
    assert _matches([line.box for line in result.lines], page.lines) == len(page.lines)


def test_an_upright_page_is_not_turned(font):
    assert segment_page(_page_with_text(font, 11).image).rotation_degrees == 0


@pytest.mark.parametrize("height", [24, 48, 96])
def test_an_image_of_one_line_yields_that_line(font, height):
    line = typeset(font, [[(20, "A pre-cut line of print, with punctuation.")]], size=(700, 60), top=42)
    image = np.asarray(Image.fromarray(line.image).resize((int(700 * height / 60), height)))
    result = segment_page(image)
    assert len(result.lines) == 1
    assert result.lines[0].box.width >= 0.8 * line.lines[0].width * height / 60


def test_a_line_crop_with_slivers_of_its_neighbours_is_still_one_line(font):
    rows = [[(20, "the line above")], [(20, "The line that was cut out")], [(20, "the line below it")]]
    page = typeset(font, rows, size=(600, 200), top=30, pitch=44)
    crop = page.image[page.lines[1].y0 - 14 : page.lines[1].y1 + 14]  # bits of the lines above and below
    result = segment_page(crop)
    assert len(result.lines) == 1
    assert result.lines[0].box.width >= 0.9 * page.lines[1].width


def test_forced_single_line_reads_any_image_as_one_line(font):
    page = typeset(font, [[(20, "two lines of print")], [(20, "in one low image")]], size=(500, 110), top=40)
    assert len(segment_page(page.image).lines) == 2
    forced = segment_page(page.image, single_line=True).lines
    assert len(forced) == 1 and forced[0].crop.shape[0] == 32
    assert segment_page(np.full((40, 300), 255, np.uint8), single_line=True).lines == []


def test_a_title_in_large_type_is_a_line_not_a_picture(font):
    title_font = ImageFont.truetype(font.path, 130)  # over four times the body's letters
    rng = np.random.default_rng(14)
    image = Image.new("L", (1400, 1600), 255)
    draw = ImageDraw.Draw(image)
    draw.text((150, 260), "RUDIMENTS", font=title_font, fill=0, anchor="ls")
    title = draw.textbbox((150, 260), "RUDIMENTS", font=title_font, anchor="ls")
    for i in range(20):
        draw.text((100, 420 + 44 * i), _words(rng, 9), font=font, fill=0, anchor="ls")
    result = segment_page(np.asarray(image))
    assert result.illustration_boxes == ()
    assert len(result.lines) == 21
    assert result.lines[0].box.iou(Box(*title)) >= 0.6


def test_a_printed_rule_parts_columns_set_closer_than_a_gutter(font):
    rng = np.random.default_rng(15)
    rows = []
    for _ in range(18):
        left = _full_line(rng, font, 520)
        while font.getlength(left) > 580:
            left = left.rsplit(" ", 1)[0]
        rows.append([(100, left), (700, _words(rng, 5))])
    rows[6][1] = (676, "tones? " + _words(rng, 3))  # a line that starts in the gutter, across the rule
    page = typeset(font, rows)
    image = page.image.copy()
    image[80:920, 688:691] = 0  # the rule
    lines = segment_page(image).lines
    assert len(lines) == 36
    assert [(line.box.x0 + line.box.x1) / 2 > 689 for line in lines] == [False] * 18 + [True] * 18


def test_touching_lines_are_parted_on_a_page_of_mixed_spacing(font):
    rng = np.random.default_rng(16)
    image = Image.new("L", (1400, 1800), 255)
    draw = ImageDraw.Draw(image)
    y = 120
    for _ in range(8):  # double spaced
        draw.text((100, y), _words(rng, 8), font=font, fill=0, anchor="ls")
        y += 88
    for _ in range(4):  # a quotation set solid: descenders meet the next line's ascenders
        draw.text((160, y), "gypsy jolly quip " + _words(rng, 4) + " bold", font=font, fill=0, anchor="ls")
        y += 30
    y += 60
    for _ in range(8):
        draw.text((100, y), _words(rng, 8), font=font, fill=0, anchor="ls")
        y += 88
    assert len(segment_page(np.asarray(image)).lines) == 20


def test_columns_split_by_a_caption_in_the_gutter_are_still_read_column_by_column(font):
    rng = np.random.default_rng(17)
    image = Image.new("L", (1500, 1500), 255)
    draw = ImageDraw.Draw(image)
    small = ImageFont.truetype(font.path, 24)
    for i in range(22):
        y = 120 + 44 * i + (30 if i >= 8 else 0) + (30 if i >= 13 else 0)  # paragraph breaks around the caption
        wrapped = 8 <= i <= 12  # the columns give way to a caption set across the gutter
        left = _words(rng, 3) if wrapped else _full_line(rng, font, 560)
        while font.getlength(left) > 600:
            left = left.rsplit(" ", 1)[0]
        draw.text((100, y), left, font=font, fill=0, anchor="ls")
        draw.text((1000 if wrapped else 760, y), _words(rng, 3 if wrapped else 5), font=font, fill=0, anchor="ls")
    for i, text in enumerate(("THE CAPTION OF A", "PICTURE SET OVER", "THE GUTTER, ACROSS", "BOTH COLUMNS")):
        draw.text((620, 120 + 44 * 8 + 40 + 40 * i), text, font=small, fill=0, anchor="ls")
    lines = segment_page(np.asarray(image)).lines
    sides = ["left" if line.box.x0 < 300 else "right" if line.box.x0 > 740 else "caption" for line in lines]
    body = [side for side in sides if side != "caption"]
    assert body == ["left"] * 22 + ["right"] * 22
    assert sides.count("caption") == 4


def test_verses_with_every_other_line_indented_and_set_solid_are_parted(font):
    rng = np.random.default_rng(18)
    rows = []
    for i in range(24):  # the indented lines are short: the row profile repeats every two lines
        full, indented = (100, "gypsy jolly " + _words(rng, 6)), (220, "quip " + _words(rng, 2) + " bold")
        rows.append([full] if i % 2 == 0 else [indented])
    page = typeset(font, rows, pitch=31)
    lines = segment_page(page.image).lines
    assert len(lines) == 24


def test_reading_order_goes_down_each_column_and_respects_a_heading_that_stands_alone():
    from crnn.layout.columns import reading_order

    top_left, top_right = Box(0, 0, 400, 300), Box(500, 0, 900, 300)
    heading = Box(100, 350, 800, 400)  # alone in its rows: it parts the columns above from those below
    low_left, low_right = Box(0, 450, 400, 800), Box(500, 450, 900, 800)
    shuffled = [low_right, heading, top_right, low_left, top_left]
    assert reading_order(shuffled) == [top_left, top_right, heading, low_left, low_right]
    caption = Box(300, 350, 600, 400)  # beside pieces of both columns: it parts nothing
    mid_left, mid_right = Box(0, 340, 250, 420), Box(650, 340, 900, 420)
    boxes = [top_right, caption, low_left, mid_right, top_left, mid_left, low_right]
    order = reading_order(boxes)
    lefts = [order.index(b) for b in (top_left, mid_left, low_left)]
    rights = [order.index(b) for b in (top_right, mid_right, low_right)]
    assert lefts == sorted(lefts) and rights == sorted(rights) and max(lefts) < min(rights)


def _magazine_page(font) -> tuple[np.ndarray, list[str], int]:
    """Two columns with a picture set across the gutter and a caption under it whose first line
    crosses the gutter, a dateline over both columns and a running foot at the bottom left; the
    side of every line in reading order, and where the foot begins."""
    rng = np.random.default_rng(21)
    image = Image.new("L", (1500, 1800), 255)
    draw = ImageDraw.Draw(image)
    small = ImageFont.truetype(font.path, 24)
    draw.text((560, 90), "A DATELINE OVER ALL", font=small, fill=0, anchor="ls")

    def baseline(row: int) -> int:  # a little more space above and below the row under the picture
        return 180 + 44 * row + (12 if row >= 17 else 0) + (12 if row >= 18 else 0)

    for i in range(30):
        beside_picture, beside_caption = 6 <= i <= 17, 18 <= i <= 21
        left_end = 470 if beside_picture else 530 if beside_caption else 640
        right_start = 950 if beside_picture else 890 if beside_caption else 760
        left = _full_line(rng, font, left_end - 140)
        while font.getlength(left) > left_end - 100:
            left = left.rsplit(" ", 1)[0]
        draw.text((100, baseline(i)), left, font=font, fill=0, anchor="ls")
        draw.text((right_start, baseline(i)), _words(rng, 3 if right_start > 800 else 5), font=font, fill=0,
                  anchor="ls")
    for k, text in enumerate(("THE CAPTION", "UNDER THE", "PICTURE")):
        draw.text((600, baseline(17 + k)), text, font=small, fill=0, anchor="ls")
    foot = baseline(30) + 40
    draw.text((100, foot), "54 A RUNNING FOOT", font=small, fill=0, anchor="ls")
    pixels = np.array(image)
    picture = (500, baseline(6) - 40, 920, baseline(16) + 10)
    cv2.rectangle(pixels, picture[:2], picture[2:], 0, 2)
    for _ in range(60):  # strokes joined to the frame, filling the picture
        points = np.stack([rng.integers(picture[0], picture[2], 4), rng.integers(picture[1], picture[3], 4)], 1)
        cv2.polylines(pixels, [points.astype(np.int32)], False, 0, 3)
    return pixels, ["dateline"] + ["left"] * 30 + ["right"] * 30 + ["foot"], foot - 30


def test_columns_go_on_under_a_picture_set_across_the_gutter(font):
    # under the picture the lines of both columns meet the caption: no gutter runs through that
    # region, but each column's lines go on below the picture and are read down their column
    image, expected, foot = _magazine_page(font)
    lines = segment_page(image).lines

    def side(box: Box) -> str:
        if box.y1 < 120:
            return "dateline"
        if box.y0 > foot:
            return "foot"
        return "left" if box.x0 < 300 else "right" if box.x0 > 740 else "caption"

    sides = [side(line.box) for line in lines]
    assert all(line.box.x1 < 700 for line, s in zip(lines, sides, strict=True) if s == "left")  # none across the gutter
    assert sides.count("caption") == 3
    assert [s for s in sides if s != "caption"] == expected


def test_a_column_that_slants_on_its_own_is_read_straight(font):
    # a photographed page bends: its left column is level and its right one slants, so the angle
    # that straightens the page leaves the right column's lines drifting across each other's rows
    rng = np.random.default_rng(23)
    left = typeset(font, [[(60, _full_line(rng, font, 820))] for _ in range(14)], size=(960, 700), top=70, pitch=40)
    right = typeset(font, [[(40, _full_line(rng, font, 820))] for _ in range(9)], size=(960, 700), top=70, pitch=40)
    slanted = cv2.warpAffine(right.image, cv2.getRotationMatrix2D((480, 250), 1.5, 1.0), (960, 700),
                             borderValue=255)
    lines = segment_page(np.hstack([left.image, slanted])).lines
    assert len(lines) == 23
    assert [line.box.x0 > 960 for line in lines] == [False] * 14 + [True] * 9
    # lines of one length framed alike: a slanting line's text band would take the drift for
    # height and come out squeezed, too small to read
    widths = [line.crop.shape[1] for line in lines]
    assert np.median(widths[14:]) >= 0.9 * np.median(widths[:14])


def test_paragraphs_of_one_column_that_slant_their_own_ways_are_each_read_straight(font):
    # further down a bending page each paragraph slants a little more: the column is one block,
    # but the blank line between its paragraphs parts them for their own angles
    rng = np.random.default_rng(24)
    paragraphs = []
    for degrees in (0.0, 1.4):
        block = typeset(font, [[(100, _full_line(rng, font, 1150))] for _ in range(6)], size=(1400, 330), top=60,
                        pitch=40)
        paragraphs.append(cv2.warpAffine(block.image, cv2.getRotationMatrix2D((700, 165), degrees, 1.0),
                                         (1400, 330), borderValue=255))
    lines = segment_page(np.vstack([paragraphs[0], paragraphs[1], np.full((150, 1400), 255, np.uint8)])).lines
    assert len(lines) == 12
    widths = [line.crop.shape[1] for line in lines]
    assert np.median(widths[6:]) >= 0.9 * np.median(widths[:6])


def test_a_running_heads_far_page_number_is_read_across_a_narrowed_gap(font):
    rng = np.random.default_rng(5)
    rows = [[(100, "12"), (330, "THE JUBILEE SINGERS.")], []] + [[(100, _words(rng, 8))] for _ in range(12)]
    layout = segment_page(typeset(font, rows).image)
    head, body = layout.lines[0], layout.lines[1:]
    assert len(layout.lines) == 13 and head.box.x0 < 110 and head.box.x1 > 600  # number and title: one line
    assert head.closed_gaps and all(not line.closed_gaps for line in body)  # word spaces are left alone
    blank = head.crop.min(axis=0) >= 160
    widest, run = 0, 0
    for is_blank in blank:
        run = run + 1 if is_blank else 0
        widest = max(widest, run)
    assert widest <= 1.5 * head.crop.shape[0]  # the margins are narrower than that too
