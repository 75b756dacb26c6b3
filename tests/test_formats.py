import importlib.util
import json
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import numpy as np
import pytest

from crnn.document import Block, Box, Line, Page, Word
from crnn.formats import FORMATS, PageRaster, render, render_document, to_alto, to_hocr, to_json, to_text

ALTO = "{http://www.loc.gov/standards/alto/ns-v4#}"
XHTML = "{http://www.w3.org/1999/xhtml}"


def _package_dir(name: str) -> Path:
    """Where an installed package's files are, found without importing it (htrflow would import torch)."""
    spec = importlib.util.find_spec(name)
    if spec is None or not spec.submodule_search_locations:
        pytest.fail(f"{name} is not installed (run `make install`): it ships a schema this test needs")
    return Path(next(iter(spec.submodule_search_locations)))


@pytest.fixture(scope="module")
def alto_schema():
    """The official ALTO 4.4 XSD (as htrflow ships it) with its XLink import (as ocrd-validators ships it)."""
    import xmlschema

    xsd = _package_dir("htrflow") / "serialization" / "schemas" / "alto-4-4.xsd"
    xlink = _package_dir("ocrd_validators") / "xlink.xsd"
    return xmlschema.XMLSchema(str(xsd), locations=[("http://www.w3.org/1999/xlink", str(xlink))])


def _page() -> Page:
    words1 = [Word("“Help!", Box(10, 10, 60, 30), 0.98), Word("fel-", Box(70, 10, 100, 30), 0.4)]
    words2 = [Word("low", Box(10, 40, 40, 60), 0.9), Word("men", Box(50, 40, 90, 60), 0.95)]
    lines = [Line(Box(10, 10, 100, 30), "“Help! fel-", 0.4, words1), Line(Box(10, 40, 90, 60), "low men", 0.9, words2)]
    return Page(200, 100, [Block(Box(10, 10, 100, 60), lines)], source="page<1>.jpg")


def test_text_is_lines_in_order():
    assert to_text(_page()) == "“Help! fel-\nlow men\n"


def test_json_has_boxes_confidences_and_uncertainty():
    data = json.loads(to_json(_page()))
    line = data["blocks"][0]["lines"][0]
    assert line["box"] == [10, 10, 100, 30]
    assert line["uncertain"] is True
    assert [w["uncertain"] for w in line["words"]] == [False, True]
    assert data["text"] == "“Help! fel-\nlow men\n"


def test_hocr_structure():
    root = ET.fromstring(to_hocr(_page()).encode("utf-8"))
    page = root.find(f".//{XHTML}div[@class='ocr_page']")
    assert "bbox 0 0 200 100" in page.get("title")
    areas = page.findall(f"{XHTML}div")
    assert [a.get("class") for a in areas] == ["ocr_carea"]
    lines = areas[0].findall(f"{XHTML}span")
    assert [ln.get("class") for ln in lines] == ["ocr_line uncertain", "ocr_line"]
    words = lines[0].findall(f"{XHTML}span")
    assert [w.text for w in words] == ["“Help!", "fel-"]
    assert words[0].get("title") == "bbox 10 10 60 30; x_wconf 98"
    assert words[1].get("class") == "ocrx_word uncertain"
    ids = [e.get("id") for e in root.iter() if e.get("id")]
    assert len(ids) == len(set(ids))


def test_alto_structure_with_spaces_and_hyphen():
    root = ET.fromstring(to_alto(_page()).encode("utf-8"))
    assert root.tag == f"{ALTO}alto"
    assert root.find(f"{ALTO}Description/{ALTO}MeasurementUnit").text == "pixel"
    page = root.find(f"{ALTO}Layout/{ALTO}Page")
    assert (page.get("WIDTH"), page.get("HEIGHT")) == ("200", "100")
    lines = page.findall(f".//{ALTO}TextBlock/{ALTO}TextLine")
    assert len(lines) == 2
    first = [child.tag.replace(ALTO, "") for child in lines[0]]
    assert first == ["String", "SP", "String", "HYP"]
    strings = lines[0].findall(f"{ALTO}String")
    assert [s.get("CONTENT") for s in strings] == ["“Help!", "fel"]
    assert strings[0].get("WC") == "0.980"
    for element in root.iter(f"{ALTO}String"):
        for attribute in ("HPOS", "VPOS", "WIDTH", "HEIGHT"):
            assert int(element.get(attribute)) >= 0
    assert [child.tag.replace(ALTO, "") for child in lines[1]] == ["String", "SP", "String"]


def test_special_characters_are_escaped():
    page = _page()
    page.blocks[0].lines[0].words[0] = Word('a<b&"c', Box(1, 1, 2, 2), 1.0)
    for fmt in ("hocr", "alto"):
        ET.fromstring(render(page, fmt).encode("utf-8"))  # well-formed


def _reference_like_pages() -> list[Page]:
    """Pages with the structures real output has: two pages of a spread, an empty line's neighbour,
    a page with no text at all, odd characters in words and in the source name."""
    spread = _page()
    right = Block(Box(120, 10, 190, 30), [Line(Box(120, 10, 190, 30), "1867 & <after>", 0.7,
                                                [Word("1867", Box(120, 10, 150, 30), 0.7),
                                                 Word("&", Box(152, 10, 160, 30), 0.99),
                                                 Word("<after>", Box(162, 10, 190, 30), 0.8)])], page_index=1)
    spread = Page(200, 100, [*spread.blocks, right], 0.3, [Box(0, 0, 100, 100), Box(100, 0, 200, 100)],
                  [Box(120, 40, 190, 90)], 'scans/page "6".jpg')
    return [spread, Page(50, 40, [], source="")]


def test_every_registered_format_renders_every_page():
    assert set(FORMATS) == {"txt", "json", "hocr", "alto", "pdf"}
    for page in _reference_like_pages():
        image = np.full((page.height, page.width), 255, np.uint8)
        for name, output in FORMATS.items():
            assert output.extension.startswith(".") and output.media_type
            document = render_document([PageRaster(page, image)], name)
            if output.page_renderer is None:
                assert output.needs_image and document.startswith(b"%PDF-")
                continue
            text = render(page, name)
            # a document of one page is that page's rendering
            assert document == text.encode("utf-8")
            assert text.endswith("\n") or (name == "txt" and text == "" and not page.lines)
    with pytest.raises(ValueError, match="unknown format 'docx'"):
        render(_page(), "docx")
    with pytest.raises(ValueError, match="needs the page image"):
        render(_page(), "pdf")


def test_a_document_of_several_pages_keeps_them_apart_in_order(alto_schema):
    pages = [_page(), *_reference_like_pages()]
    rasters = [PageRaster(page) for page in pages]
    text = render_document(rasters, "txt").decode("utf-8")
    assert text.split("\f") == [to_text(page) for page in pages]
    data = json.loads(render_document(rasters, "json", title="book.pdf"))
    assert data["source"] == "book.pdf" and [p["text"] for p in data["pages"]] == [to_text(p) for p in pages]
    hocr = ET.fromstring(render_document(rasters, "hocr"))
    hocr_pages = hocr.findall(f".//{XHTML}div[@class='ocr_page']")
    assert [div.get("id") for div in hocr_pages] == [f"page_{n}" for n in range(1, len(pages) + 1)]
    assert all(f"ppageno {n}" in div.get("title") for n, div in enumerate(hocr_pages))
    ids = [node.get("id") for node in hocr.iter() if node.get("id")]
    assert len(ids) == len(set(ids))
    alto = render_document(rasters, "alto").decode("utf-8")
    assert [e for e in alto_schema.iter_errors(alto)] == []  # IDs unique across pages, or the schema says so
    alto_pages = ET.fromstring(alto).findall(f".//{ALTO}Page")
    assert [int(p.get("PHYSICAL_IMG_NR")) for p in alto_pages] == list(range(1, len(pages) + 1))
    assert [len(p.findall(f".//{ALTO}TextLine")) for p in alto_pages] == [len(page.lines) for page in pages]


def test_alto_validates_against_the_official_schema(alto_schema):
    for page in [_page(), *_reference_like_pages()]:
        errors = [f"{e.reason} at {e.path}" for e in alto_schema.iter_errors(to_alto(page))]
        assert errors == []


def test_an_invalid_alto_is_caught_by_the_schema(alto_schema):
    broken = to_alto(_page()).replace(' CONTENT="men"', "")  # a String needs its CONTENT
    assert not alto_schema.is_valid(broken)


HOCR_BBOX = re.compile(r"(?:^|;\s*)bbox (\d+) (\d+) (\d+) (\d+)(?:;|$)")


def test_hocr_has_the_properties_the_spec_requires():
    for page in _reference_like_pages():
        root = ET.fromstring(to_hocr(page).encode("utf-8"))
        head = root.find(f"{XHTML}head")
        meta = {m.get("name"): m.get("content") for m in head.findall(f"{XHTML}meta") if m.get("name")}
        assert meta["ocr-system"].startswith("crnn-book-ocr ")
        capabilities = set(meta["ocr-capabilities"].split())
        classes = {c for e in root.iter() for c in (e.get("class") or "").split() if c.startswith("ocr")}
        assert classes <= capabilities  # every ocr_* class used is declared
        pages = [e for e in root.iter() if "ocr_page" in (e.get("class") or "").split()]
        assert len(pages) == 1 and "image " in pages[0].get("title")
        for element in root.iter():
            kind = (element.get("class") or "").split()
            if not any(k.startswith("ocr") for k in kind):
                continue
            title = element.get("title") or ""
            match = HOCR_BBOX.search(title)
            assert match, f"{kind} without bbox: {title!r}"
            x0, y0, x1, y1 = map(int, match.groups())
            assert 0 <= x0 <= x1 <= page.width and 0 <= y0 <= y1 <= page.height
            if "ocrx_word" in kind or "ocr_line" in kind:
                confidence = int(re.search(r"x_wconf (\d+)", title).group(1))
                assert 0 <= confidence <= 100
        ids = [e.get("id") for e in root.iter() if e.get("id")]
        assert len(ids) == len(set(ids))
