import importlib.util
from pathlib import Path

import cv2
import numpy as np
import pytest

from crnn.charset import Charset
from crnn.checkpoint import save_checkpoint
from crnn.config import to_dict
from crnn.lines import LineGeometry
from crnn.model import build_model

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "ocr_page.py"


@pytest.fixture(scope="module")
def ocr_page():
    spec = importlib.util.spec_from_file_location("ocr_page", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory, tiny_model_config):
    path = tmp_path_factory.mktemp("ckpt") / "tiny"
    charset = Charset()
    model = build_model(tiny_model_config, charset.num_classes)
    save_checkpoint(path, model, charset, LineGeometry(), {"model": to_dict(tiny_model_config)}, {"seed": 0})
    return path


@pytest.fixture(scope="module")
def page_image(tmp_path_factory):
    from crnn.pagegen import PageGenerator

    path = tmp_path_factory.mktemp("img") / "page.png"
    cv2.imwrite(str(path), PageGenerator(3).generate(two_pages=False).image)
    return path


def _run(ocr_page, capsys, *argv):
    code = ocr_page.main([str(a) for a in argv])
    captured = capsys.readouterr()
    return code, captured.out, captured.err


def test_missing_checkpoint_is_a_one_line_error(ocr_page, tmp_path, capsys, page_image):
    code, _, err = _run(ocr_page, capsys, page_image, "--checkpoint", tmp_path / "nothing")
    assert code == 2 and "no checkpoint" in err and len(err.strip().splitlines()) == 1


def test_help_explains_usage(ocr_page, capsys):
    with pytest.raises(SystemExit) as exit_info:
        ocr_page.main(["--help"])
    assert exit_info.value.code == 0
    out = capsys.readouterr().out
    for option in ("--format", "--decoder", "--reference", "--output-dir", "Exit codes"):
        assert option in out


def test_unknown_format_exits_2(ocr_page, capsys, page_image):
    with pytest.raises(SystemExit) as exit_info:
        ocr_page.main([str(page_image), "--format", "pdf"])
    assert exit_info.value.code == 2


@pytest.mark.parametrize("problem", ["missing", "empty_dir", "reference"])
def test_bad_input_is_a_one_line_error(ocr_page, capsys, tmp_path, checkpoint, page_image, problem):
    argv = {"missing": [tmp_path / "nope.jpg"], "empty_dir": [tmp_path],
            "reference": [page_image, "--reference", tmp_path / "none.gt.txt"]}[problem]
    code, _, err = _run(ocr_page, capsys, *argv, "--checkpoint", checkpoint)
    assert code == 2
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1


def test_mismatched_checkpoint_charset(ocr_page, capsys, tmp_path, checkpoint, page_image):
    import shutil

    broken = tmp_path / "broken"
    shutil.copytree(checkpoint, broken)
    Charset("abc").save(broken / "charset.json")
    code, _, err = _run(ocr_page, capsys, page_image, "--checkpoint", broken)
    assert code == 2 and "charset" in err


def test_batch_with_one_bad_file_processes_the_others(ocr_page, capsys, tmp_path, checkpoint, page_image):
    folder = tmp_path / "pages"
    folder.mkdir()
    cv2.imwrite(str(folder / "a.png"), cv2.imread(str(page_image)))
    (folder / "b.jpg").write_bytes(b"this is not a jpeg")
    out_dir = tmp_path / "out"
    code, _, err = _run(ocr_page, capsys, folder, "--checkpoint", checkpoint, "--format", "json",
                        "--output-dir", out_dir)
    assert code == 1
    assert (out_dir / "a.json").is_file() and not (out_dir / "b.json").exists()
    assert "1 of 2 page(s) failed" in err


@pytest.mark.parametrize("fmt", ["txt", "hocr", "alto"])
def test_formats_to_stdout(ocr_page, capsys, checkpoint, page_image, fmt):
    code, out, _ = _run(ocr_page, capsys, page_image, "--checkpoint", checkpoint, "--format", fmt)
    assert code == 0
    if fmt != "txt":
        assert out.startswith("<?xml")


def test_reference_report(ocr_page, capsys, tmp_path, checkpoint, page_image):
    reference = tmp_path / "page.gt.txt"
    reference.write_text("some words\nthat the tiny model will not read\n", encoding="utf-8")
    report = tmp_path / "report.md"
    code, _, err = _run(ocr_page, capsys, page_image, "--checkpoint", checkpoint, "--reference", reference,
                        "--report", report)
    assert code == 0
    assert "| CER |" in err and report.read_text(encoding="utf-8").startswith("## page.png")


def test_debug_dir(ocr_page, capsys, tmp_path, checkpoint, page_image):
    code, _, _ = _run(ocr_page, capsys, page_image, "--checkpoint", checkpoint, "--debug-dir", tmp_path / "dbg")
    assert code == 0
    assert (tmp_path / "dbg" / "page.lines.png").is_file()


def test_pipeline_words_follow_decoded_spans():
    from crnn.decode import Decoded
    from crnn.document import Box
    from crnn.pipeline import _words

    decoded = Decoded("ab cd", 0.5, (0.9, 0.8, 0.99, 0.7, 0.6), ((1, 1), (2, 3), (5, 5), (7, 7), (8, 9)))
    words = _words(Box(100, 10, 200, 30), decoded, crop_width=48, frame_px=4, margin_px=4)
    assert [w.text for w in words] == ["ab", "cd"]
    assert words[0].box.x0 < words[0].box.x1 <= words[1].box.x0 < words[1].box.x1 <= 200
    assert [w.confidence for w in words] == [0.8, 0.6]
    assert np.all([w.box.y0 == 10 and w.box.y1 == 30 for w in words])
