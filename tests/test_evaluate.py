"""The real-page evaluator: folder discovery, the scoring rules, engines side by side, the CLI."""

import json
import shutil
from pathlib import Path

import cv2
import numpy as np
import pytest

from crnn.cli.evaluate import main
from crnn.evaluation.folders import (
    EvaluationError,
    FolderItems,
    GroundTruthItem,
    evaluate_engine,
    find_items,
    guess_mode,
    join_page_lines,
    rejoin_hyphenated,
    score_line,
    score_page_lines,
)


def _write(folder: Path, stem: str, text: str | None, image: np.ndarray | None = None) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(folder / f"{stem}.png"), image if image is not None else np.full((40, 200), 255, np.uint8))
    if text is not None:
        (folder / f"{stem}.gt.txt").write_text(text, encoding="utf-8")


def test_page_text_joins_lines_and_removes_hyphens_only_between_letters():
    joined = join_page_lines(["the exam-", "ple of it", "in 1890-", "91 and", "  "])
    assert joined == "the example of it in 1890- 91 and"
    assert join_page_lines(["a word -", "then"]) == "a word - then"


def test_rejoining_moves_the_rest_of_a_hyphenated_word_up_a_line():
    assert rejoin_hyphenated(["the rough col-", "lisions of life", "end"]) == ["the rough collisions", "of life", "end"]
    assert rejoin_hyphenated(["a hyphen-", "word"]) == ["a hyphenword"]


def test_find_items_pairs_images_with_transcriptions_and_names_what_it_skips(tmp_path):
    _write(tmp_path, "a", "first line\n\nsecond line\n")
    _write(tmp_path, "b", None)
    _write(tmp_path, "c", "  \n")
    (tmp_path / "d.gt.txt").write_text("orphan", encoding="utf-8")
    (tmp_path / "e.gt.txt").write_bytes(b"\xff\xfe\xfa")
    _write(tmp_path, "e", None)
    found = find_items(tmp_path)
    assert [item.name for item in found.items] == ["a.png"]
    assert found.items[0].reference == ("first line", "second line")
    reasons = {s.path: s.reason for s in found.skipped}
    assert set(reasons) == {"b.png", "c.gt.txt", "d.gt.txt", "e.gt.txt"}
    assert "empty" in reasons["c.gt.txt"] and "no image" in reasons["d.gt.txt"]
    with pytest.raises(EvaluationError):
        find_items(tmp_path / "missing")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(EvaluationError):
        find_items(empty)


def test_mode_is_line_only_for_one_line_transcriptions_of_low_images(tmp_path):
    lines = [GroundTruthItem(tmp_path / f"{i}.png", ("one line",)) for i in range(5)]
    assert guess_mode(lines, lambda _: 48) == "line"
    assert guess_mode(lines, lambda _: 900) == "page"
    assert guess_mode([*lines, GroundTruthItem(tmp_path / "p.png", ("a", "b"))], lambda _: 48) == "page"


def test_first_printed_line_is_dropped_only_when_the_transcription_omits_it():
    reference = ["It was the best", "of times."]
    hypothesis = ["CHAPTER I 17", "It was the best", "of times."]
    kept, _ = score_page_lines("p", reference, hypothesis)
    dropped, errors = score_page_lines("p", reference, hypothesis, omits_first_line=True)
    assert dropped.char_errors == 0 and not errors and dropped.line_recall == 1.0
    assert kept.char_errors == len("CHAPTER I 17 ")
    assert kept.line_recall == 1.0  # the extra line costs characters, not recall


def test_folded_and_raw_rates_differ_only_by_typography():
    counts, _ = score_page_lines("p", ["\u201cYes,\u201d he said \u2014 so"], ['"Yes," he said - so'])
    assert counts.char_errors == 0 and counts.char_errors_raw == 3
    assert counts.cer == 0.0 and counts.cer_raw == pytest.approx(3 / counts.ref_chars_raw)


def test_a_lost_line_lowers_line_recall():
    counts, errors = score_page_lines("p", ["alpha beta gamma", "delta epsilon zeta", "eta theta"],
                                      ["alpha beta gamma", "eta theta"])
    assert counts.lines_found == 2 and counts.ref_lines == 3
    assert errors[0].reference == "delta epsilon zeta" and errors[0].hypothesis is None


def test_a_line_read_out_of_order_is_found_but_costs_characters():
    reference = ["the flow of the column", "goes on below the picture", "and ends here.", "A CAPTION"]
    in_order, _ = score_page_lines("p", reference, reference)
    moved, _ = score_page_lines("p", reference, ["the flow of the column", "A CAPTIOn",
                                                 "goes on below the picture", "and ends here."])
    assert in_order.lines_found == moved.lines_found == 4
    assert moved.char_errors > in_order.char_errors == 0


def test_lines_read_across_columns_are_not_found():
    reference = ["left column one", "left column two", "right column one", "right column two"]
    across = ["left column one right column one", "left column two right column two"]
    counts, _ = score_page_lines("p", reference, across)
    assert counts.lines_found == 0
    # an output line stands for one reference line at most
    counts, _ = score_page_lines("p", ["same words here", "other words", "same words here"],
                                 ["same words here", "nothing alike at all"])
    assert counts.lines_found == 1


def test_line_scores_count_an_empty_reading_as_not_found():
    counts, _ = score_line("l", "some words", "")
    assert counts.lines_found == 0 and counts.char_errors == len("some words") and counts.output_chars == 0
    counts, errors = score_line("l", "some words", "some wards")
    assert counts.lines_found == 1 and errors[0].errors == 1


class _ScriptedEngine:
    """Reads every page as its transcription with one letter changed, and fails on one item."""

    name = "scripted"

    def __init__(self, truth: dict[str, tuple[str, ...]], failing: str):
        self.truth, self.failing = truth, failing

    def read_page(self, image: Path) -> list[str]:
        if image.name == self.failing:
            raise RuntimeError("cannot read")
        return ["x" + line[1:] for line in self.truth[image.name]]

    def read_lines(self, images):
        if any(image.name == self.failing for image in images):
            raise RuntimeError("cannot read")
        return [" ".join(self.truth[image.name]) for image in images]


def test_evaluate_engine_micro_averages_and_survives_a_failing_item(tmp_path):
    items = (GroundTruthItem(tmp_path / "a.png", ("abcd", "efgh")), GroundTruthItem(tmp_path / "b.png", ("ijkl",)),
             GroundTruthItem(tmp_path / "c.png", ("mnop",)))
    engine = _ScriptedEngine({i.name: i.reference for i in items}, failing="c.png")
    result = evaluate_engine(engine, FolderItems(tmp_path, items, ()), "page")
    counts = result.counts
    assert result.failed == 1 and result.items[2].error.startswith("RuntimeError")
    assert counts.char_errors == 3 + 4 and counts.ref_chars == len("abcd efgh") + 4 + 4
    lines = evaluate_engine(engine, FolderItems(tmp_path, items, ()), "line", line_batch=3)
    assert lines.failed == 1 and lines.counts.char_errors == 4  # the failing line alone scores as unread


def test_cli_scores_page_and_line_folders_and_writes_report_and_json(tmp_path, tiny_checkpoint):
    from crnn.synth.pages import PageGenerator

    pages = tmp_path / "pages"
    for seed in range(2):
        page = PageGenerator(seed).generate()
        _write(pages, f"p{seed}", "\n".join(line.text for line in page.lines), page.image)
    lines = tmp_path / "lines"
    line = np.full((40, 300), 255, np.uint8)
    cv2.putText(line, "a line", (10, 30), cv2.FONT_HERSHEY_SIMPLEX, 1.0, 0, 2)
    for i in range(3):
        _write(lines, f"l{i}", "a line", line)
    _write(lines, "nogt", None, line)
    report, result = tmp_path / "out" / "report.md", tmp_path / "out" / "result.json"
    debug = tmp_path / "out" / "debug"
    code = main([str(pages), str(lines), "--checkpoint", str(tiny_checkpoint), "--no-tesseract",
                 "--omits-first-line", "pag*", "--report", str(report), "--json", str(result),
                 "--debug-dir", str(debug)])
    assert code == 0
    assert sorted(p.name for p in (debug / "pages").glob("*.lines.png")) == ["p0.lines.png", "p1.lines.png"]
    data = json.loads(result.read_text(encoding="utf-8"))
    modes = {f["folder"]: (f["mode"], f["omits_first_line"], f["items"]) for f in data["folders"]}
    assert modes == {"pages": ("page", True, 2), "lines": ("line", False, 3)}
    assert data["folders"][1]["skipped"] == [{"path": "nogt.png", "reason": "no transcription beside it"}]
    engine = data["folders"][0]["engines"][0]
    assert len(engine["items"]) == 2 and engine["cer"] >= 0 and engine["seconds"] > 0
    text = report.read_text(encoding="utf-8")
    assert "| pages | page | 2 |" in text and "nogt.png: no transcription" in text


def test_cli_refuses_a_folder_without_transcriptions_in_one_line(tmp_path, tiny_checkpoint, capsys):
    _write(tmp_path / "bare", "x", None)
    assert main([str(tmp_path / "bare"), "--checkpoint", str(tiny_checkpoint)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith("error:") and "\n" not in err


@pytest.mark.skipif(shutil.which("tesseract") is None, reason="no tesseract binary on the PATH")
def test_tesseract_reads_the_same_items_beside_ours(tmp_path, tiny_checkpoint):
    from crnn.evaluation.tesseract import TesseractEngine, find_tesseract

    image = np.full((120, 900), 255, np.uint8)
    cv2.putText(image, "HELLO WORLD", (20, 80), cv2.FONT_HERSHEY_SIMPLEX, 2.0, 0, 4)
    _write(tmp_path / "one", "hello", "HELLO WORLD", image)
    engine = TesseractEngine(find_tesseract())
    assert engine.name.startswith("tesseract")
    assert "HELLO" in " ".join(engine.read_page(tmp_path / "one" / "hello.png"))
    result = tmp_path / "r.json"
    assert main([str(tmp_path / "one"), "--checkpoint", str(tiny_checkpoint), "--mode", "page",
                 "--json", str(result)]) == 0
    engines = [e["engine"] for e in json.loads(result.read_text(encoding="utf-8"))["folders"][0]["engines"]]
    assert engines[0].startswith("crnn") and engines[1].startswith("tesseract")


def test_a_pdf_with_its_transcription_is_one_item_of_all_its_pages(tmp_path):
    from PIL import Image

    from crnn.recognize import DEFAULT_CHECKPOINT
    from crnn.synth.pages import PageGenerator

    folder = tmp_path / "pdfs"
    folder.mkdir()
    generator = PageGenerator(4)
    pages = [generator.generate(two_pages=False) for _ in range(2)]
    pictures = [Image.fromarray(page.image) for page in pages]
    pictures[0].save(folder / "book.pdf", save_all=True, append_images=pictures[1:], resolution=300)
    (folder / "book.gt.txt").write_text("\n".join(line.text for page in pages for line in page.lines),
                                        encoding="utf-8")
    assert [item.name for item in find_items(folder).items] == ["book.pdf"]
    result = tmp_path / "r.json"
    assert main([str(folder), "--checkpoint", str(DEFAULT_CHECKPOINT), "--json", str(result)]) == 0
    engines = json.loads(result.read_text(encoding="utf-8"))["folders"][0]["engines"]
    # both pages read against the one transcription: the committed model reads generated print well
    assert engines[0]["cer"] < 0.1
    if shutil.which("tesseract"):
        assert engines[1]["engine"].startswith("tesseract") and engines[1]["cer"] < 0.5
