import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest

from crnn.charset import Charset
from crnn.cli.ocr_page import build_parser, main
from crnn.document import Box
from crnn.formats import FORMATS, render
from crnn.pipeline import PageReader, word_boxes
from crnn.recognize import DECODERS
from crnn.recognize.decoders import Decoded


@pytest.fixture(scope="module")
def page_image(tmp_path_factory):
    from crnn.synth.pages import PageGenerator

    path = tmp_path_factory.mktemp("img") / "page.png"
    cv2.imwrite(str(path), PageGenerator(3).generate(two_pages=False).image)
    return path


def _run(capsys, *argv):
    code = main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_missing_checkpoint_is_a_one_line_error(tmp_path, capsys, page_image):
    code, _, err = _run(capsys, page_image, "--checkpoint", tmp_path / "nothing")
    assert code == 2 and "no checkpoint" in err and len(err.strip().splitlines()) == 1


def test_help_explains_usage(capsys):
    with pytest.raises(SystemExit) as exit_info:
        main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--format", "--decoder", "--reference", "--output-dir", "Exit codes", "hOCR", "ALTO"):
        assert option in out


def test_choices_come_from_the_registries():
    actions = {a.dest: a for a in build_parser()._actions}
    assert tuple(actions["format"].choices) == tuple(FORMATS)
    assert tuple(actions["decoder"].choices) == tuple(DECODERS)


def test_unknown_format_exits_2(capsys, page_image):
    with pytest.raises(SystemExit) as exit_info:
        main([str(page_image), "--format", "pdf"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'pdf'" in capsys.readouterr().err


@pytest.mark.parametrize("problem", ["missing", "empty_dir", "reference"])
def test_bad_input_is_a_one_line_error(capsys, tmp_path, tiny_checkpoint, page_image, problem):
    argv = {"missing": [tmp_path / "nope.jpg"], "empty_dir": [tmp_path],
            "reference": [page_image, "--reference", tmp_path / "none.gt.txt"]}[problem]
    code, _, err = _run(capsys, *argv, "--checkpoint", tiny_checkpoint)
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_mismatched_checkpoint_charset(capsys, tmp_path, tiny_checkpoint, page_image):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(tiny_checkpoint, broken)
    Charset("abc").save(broken / "charset.json")
    code, _, err = _run(capsys, page_image, "--checkpoint", broken)
    assert code == 2 and "charset" in err


def test_batch_with_one_bad_file_processes_the_others(capsys, tmp_path, tiny_checkpoint, page_image):
    folder = tmp_path / "pages"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), cv2.imread(str(page_image)))
    (folder / "b.jpg").write_bytes(b"this is not a jpeg")
    out_dir = tmp_path / "out"
    code, _, err = _run(capsys, folder, "--checkpoint", tiny_checkpoint, "--format", "json",
                        "--output-dir", out_dir)
    assert code == 1
    assert (out_dir / "a.json").is_file() and not (out_dir / "b.json").exists()
    assert "1 of 2 page(s) failed" in err and "b.jpg" in err


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_each_format_prints_what_the_library_renders(capsys, tiny_checkpoint, page_image, fmt):
    code, out, _ = _run(capsys, page_image, "--checkpoint", tiny_checkpoint, "--format", fmt)
    assert code == 0
    expected = render(PageReader(tiny_checkpoint).read(page_image, source=str(page_image)).page, fmt)
    assert out == expected
    if fmt in ("hocr", "alto"):
        ET.fromstring(out.encode("utf-8"))


def test_output_dir_uses_each_format_extension(capsys, tmp_path, tiny_checkpoint, page_image):
    for fmt in ("alto", "hocr"):
        code, _, _ = _run(capsys, page_image, "--checkpoint", tiny_checkpoint, "--format", fmt,
                          "--output-dir", tmp_path)
        assert code == 0
    assert sorted(p.name for p in tmp_path.iterdir()) == ["page.hocr", "page.xml"]


def test_reference_report(capsys, tmp_path, tiny_checkpoint, page_image):
    reference = tmp_path / "page.gt.txt"
    reference.write_text("some words\nthat the tiny model will not read\n", encoding="utf-8")
    report = tmp_path / "report.md"
    code, _, err = _run(capsys, page_image, "--checkpoint", tiny_checkpoint, "--reference", reference,
                        "--report", report)
    assert code == 0
    text = report.read_text(encoding="utf-8")
    assert "| CER |" in err and text.startswith("## page.png")
    assert "ref: `some words`" in text or "⟦" in text  # the untrained model reads them wrong


def test_debug_dir(capsys, tmp_path, tiny_checkpoint, page_image):
    code, _, _ = _run(capsys, page_image, "--checkpoint", tiny_checkpoint, "--debug-dir", tmp_path / "dbg")
    assert code == 0
    overlay = cv2.imread(str(tmp_path / "dbg" / "page.lines.png"))
    assert overlay.shape[:2] == cv2.imread(str(page_image), cv2.IMREAD_GRAYSCALE).shape
    assert (tmp_path / "dbg" / "page.binary.png").is_file()


def test_words_follow_decoded_spans():
    decoded = Decoded("ab cd", 0.5, (0.9, 0.8, 0.99, 0.7, 0.6), ((1, 1), (2, 3), (5, 5), (7, 7), (8, 9)))
    words = word_boxes(Box(100, 10, 200, 30), decoded, crop_width=48, frame_px=4, margin_px=4)
    assert [w.text for w in words] == ["ab", "cd"]
    assert words[0].box.x0 < words[0].box.x1 <= words[1].box.x0 < words[1].box.x1 <= 200
    assert [w.confidence for w in words] == [0.8, 0.6]
    assert np.all([w.box.y0 == 10 and w.box.y1 == 30 for w in words])
