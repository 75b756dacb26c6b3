"""Searchable PDF out: the page images with an invisible text layer on our word boxes, checked with
poppler's ``pdftotext`` (as a viewer would find the text) and with PDFium."""

from __future__ import annotations

import html
import re
import shutil
import subprocess
from collections import Counter

import cv2
import numpy as np
import pytest
from PIL import Image

from crnn.cli.ocr_page import main
from crnn.formats import PageRaster, render_document
from crnn.io import pdf_pages
from crnn.pipeline import PageReader
from crnn.recognize import DEFAULT_CHECKPOINT

PDFTOTEXT = shutil.which("pdftotext")
needs_pdftotext = pytest.mark.skipif(PDFTOTEXT is None, reason="pdftotext (Debian's poppler-utils) is not installed")
BBOX_WORD = re.compile(r'<word xMin="([\d.]+)" yMin="([\d.]+)" xMax="([\d.]+)" yMax="([\d.]+)">(.*?)</word>')


@pytest.fixture(scope="module")
def book(tmp_path_factory):
    """A generated book of three pages (one of them a spread, one bilevel) as a PDF of scans at 300 dpi."""
    from crnn.synth.pages import PageGenerator

    folder = tmp_path_factory.mktemp("book")
    generator = PageGenerator(8)
    images = [generator.generate(two_pages=n == 1).image for n in range(3)]
    images[2] = np.where(images[2] > 128, 255, 0).astype(np.uint8)
    pictures = [Image.fromarray(image).convert("1" if n == 2 else "L") for n, image in enumerate(images)]
    pictures[0].save(folder / "book.pdf", save_all=True, append_images=pictures[1:], resolution=300)
    return folder / "book.pdf"


@pytest.fixture(scope="module")
def searchable(book, tmp_path_factory):
    """The book OCRed by ``ocr_page.py --format pdf``, and the pages as our reader read them."""
    out = tmp_path_factory.mktemp("out")
    assert main([str(book), "--format", "pdf", "--output-dir", str(out), "--checkpoint", str(DEFAULT_CHECKPOINT)]) == 0
    reader = PageReader(DEFAULT_CHECKPOINT)
    return out / "book.pdf", [raster for _, raster in reader.read_document(book, keep_image=True)]


def _letters(text: str) -> str:
    """The text without spaces, line breaks and hyphens."""
    return "".join(text.split()).replace("-", "")


def _pdftotext(*args: object) -> str:
    return subprocess.run([PDFTOTEXT, *map(str, args)], capture_output=True, text=True, check=True, timeout=60).stdout


@needs_pdftotext
def test_pdftotext_finds_every_word_of_every_page_in_order(searchable):
    pdf, rasters = searchable
    # -raw: in the order the words were set, which is our reading order (a spread is two pages side by side)
    pages = _pdftotext(pdf, "-raw", "-").split("\f")[: len(rasters)]
    assert len(pages) == len(rasters) == 3
    for found, raster in zip(pages, rasters, strict=True):
        # pdftotext joins a word hyphenated at a line's end, as a reader would: compare the characters
        assert _letters(found) == _letters(raster.page.text)
        assert len(found.split()) >= 0.9 * len(raster.page.text.split())  # words stay apart
        assert raster.page.text.split()  # the pages have text to find


@needs_pdftotext
def test_each_word_lies_inside_its_box(searchable):
    pdf, rasters = searchable
    listing = _pdftotext(pdf, "-raw", "-bbox", "-")
    page_blocks = listing.split("<page ")[1:]
    assert len(page_blocks) == len(rasters)
    for block, raster in zip(page_blocks, rasters, strict=True):
        found = BBOX_WORD.findall(block)
        ours = [word for line in raster.page.lines for word in line.words if word.text.strip()]
        assert [html.unescape(w[4]) for w in found] == [w.text for w in ours]
        px = raster.dpi / 72.0  # pdftotext measures in points from the top left
        for (x0, y0, x1, y1, _), word in zip(found, ours, strict=True):
            cx, cy = (float(x0) + float(x1)) / 2 * px, (float(y0) + float(y1)) / 2 * px
            assert word.box.x0 - 1 <= cx <= word.box.x1 + 1 and word.box.y0 - 1 <= cy <= word.box.y1 + 1
            # and it covers its box, not a point of it: selection highlights the word
            assert float(x1) * px - float(x0) * px >= 0.9 * word.box.width


def test_the_pdf_shows_each_page_image_at_its_resolution(searchable):
    import pypdfium2 as pdfium

    pdf, rasters = searchable
    document = pdfium.PdfDocument(str(pdf))
    assert len(document) == len(rasters)
    for number, raster in enumerate(rasters):
        page = document[number]
        width_pt, height_pt = page.get_size()
        assert width_pt * raster.dpi / 72 == pytest.approx(raster.page.width, abs=0.5)
        assert height_pt * raster.dpi / 72 == pytest.approx(raster.page.height, abs=0.5)
        # PDFium, a second reader of the text layer, finds our characters (in an order of its own, a
        # line-end hyphen marked as soft, and a few dropped where it takes a glyph for a repeated one)
        found = Counter(_letters(page.get_textpage().get_text_range().replace("\ufffe", "")))
        expected = Counter(_letters(raster.page.text))
        assert not found - expected and found.total() >= 0.98 * expected.total()
    # the bilevel page is stored as it was scanned: read back pixel for pixel
    (third,) = list(pdf_pages(pdf, pages=[3]))
    assert set(np.unique(rasters[2].image)) == {0, 255} and np.array_equal(third.image, rasters[2].image)


def test_any_unicode_text_comes_back_and_an_empty_page_is_a_page():
    import pypdfium2 as pdfium

    from crnn.document import Block, Box, Line, Page, Word

    words = [Word("Œuvres", Box(10, 10, 60, 30), 0.9), Word("—ſ€", Box(70, 10, 100, 30), 0.9),
             Word("𝔉raktur", Box(110, 10, 190, 30), 0.9)]
    page = Page(200, 50, [Block(Box(10, 10, 190, 30), [Line(Box(10, 10, 190, 30), "Œuvres —ſ€ 𝔉raktur", 0.9,
                                                            words)])])
    image = np.full((50, 200), 255, np.uint8)
    pdf = render_document([PageRaster(page, image, 100.0), PageRaster(Page(200, 50), image, 100.0)], "pdf")
    document = pdfium.PdfDocument(pdf)
    assert len(document) == 2
    assert document[0].get_textpage().get_text_range().split() == ["Œuvres", "—ſ€", "𝔉raktur"]
    assert document[1].get_textpage().get_text_range().strip() == ""


def test_format_pdf_refuses_a_terminal_and_needs_the_image(tmp_path, monkeypatch, capsys):
    page = tmp_path / "page.png"
    cv2.imwrite(str(page), np.full((100, 100), 255, np.uint8))
    monkeypatch.setattr("sys.stdout.isatty", lambda: True)
    assert main([str(page), "--format", "pdf", "--checkpoint", str(DEFAULT_CHECKPOINT)]) == 2
    assert "binary" in capsys.readouterr().err
    with pytest.raises(ValueError, match="needs the page image"):
        render_document([PageRaster(PageReader(DEFAULT_CHECKPOINT).read(page).page)], "pdf")


def test_a_real_page_becomes_a_searchable_pdf(tmp_path, shared_dir):
    """A page of the dev set through --format pdf: what a user would do with their own scans."""
    eval_dir = shared_dir / "devset" / "eval" / "dp_pascal"
    pages = sorted(eval_dir.glob("*.png")) + sorted(eval_dir.glob("*.jpg")) if eval_dir.is_dir() else []
    if not pages or PDFTOTEXT is None:
        pytest.skip("needs ../shared/devset/eval/dp_pascal and pdftotext")
    assert main([str(pages[0]), "--format", "pdf", "--output-dir", str(tmp_path),
                 "--checkpoint", str(DEFAULT_CHECKPOINT)]) == 0
    text = _pdftotext(tmp_path / (pages[0].stem + ".pdf"), "-")
    ours = PageReader(DEFAULT_CHECKPOINT).read(pages[0]).page.text
    assert _letters(text) == _letters(ours) and len(ours.split()) > 50
    print(text[:400])
