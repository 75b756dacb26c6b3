import json
import xml.etree.ElementTree as ET

from crnn.document import Block, Box, Line, Page, Word
from crnn.export import render, to_alto, to_hocr, to_json, to_text

ALTO = "{http://www.loc.gov/standards/alto/ns-v4#}"
XHTML = "{http://www.w3.org/1999/xhtml}"


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
