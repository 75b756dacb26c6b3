import json
import xml.etree.ElementTree as ET
from pathlib import Path

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
        main([str(page_image), "--format", "docx"])
    assert exit_info.value.code == 2
    assert "invalid choice: 'docx'" in capsys.readouterr().err


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
    assert "1 of 2 input(s) failed" in err and "b.jpg" in err


@pytest.mark.parametrize("fmt", [name for name, f in FORMATS.items() if f.page_renderer is not None])
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


# --- output paths, batches and odd inputs (hardening issue) --------------------------------------------------

@pytest.mark.parametrize("option", ["--output-dir", "--debug-dir", "--report"])
def test_an_output_place_that_cannot_be_written_is_refused_before_reading(capsys, tmp_path, tiny_checkpoint,
                                                                          page_image, option):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    target = blocker if option != "--report" else blocker / "report.md"
    argv = [page_image, "--checkpoint", tiny_checkpoint, option, target]
    if option == "--report":
        argv += ["--reference", page_image.with_suffix(".gt.txt")]
        page_image.with_suffix(".gt.txt").write_text("some text\n", encoding="utf-8")
    code, out, err = _run(capsys, *argv)
    assert code == 2 and out == "" and len(err.strip().splitlines()) == 1 and option in err


def test_inputs_sharing_a_stem_keep_both_outputs(capsys, tmp_path, tiny_checkpoint, page_image):
    folder = tmp_path / "in"
    folder.mkdir()
    image = cv2.imread(str(page_image))
    cv2.imwrite(str(folder / "page.png"), image)
    cv2.imwrite(str(folder / "page.jpg"), image)
    out = tmp_path / "out"
    code, _, _ = _run(capsys, folder / "page.png", folder / "page.jpg", "--checkpoint", tiny_checkpoint,
                      "--output-dir", out)
    assert code == 0 and sorted(p.name for p in out.iterdir()) == ["page.jpg.txt", "page.png.txt"]


def test_a_missing_file_in_a_batch_fails_alone(capsys, tmp_path, tiny_checkpoint, page_image):
    out = tmp_path / "out"
    code, _, err = _run(capsys, page_image, tmp_path / "gone.png", "--checkpoint", tiny_checkpoint,
                        "--output-dir", out)
    assert code == 1 and "gone.png" in err and (out / "page.txt").is_file()


def test_a_damaged_model_file_is_named_as_damaged(capsys, tmp_path, tiny_checkpoint, page_image):
    import shutil

    damaged = tmp_path / "ckpt"
    shutil.copytree(tiny_checkpoint, damaged)
    (damaged / "model.keras").write_bytes(b"PK\x03\x04 truncated")
    code, _, err = _run(capsys, page_image, "--checkpoint", damaged, "--backend", "keras")
    assert code == 2 and "damaged" in err and "not found" not in err.lower()


def test_a_fifo_is_not_called_missing(capsys, tmp_path, tiny_checkpoint):
    import os

    fifo = tmp_path / "pipe.png"
    os.mkfifo(fifo)
    code, _, err = _run(capsys, fifo, "--checkpoint", tiny_checkpoint)
    assert code == 2 and "not a regular file" in err


def test_every_page_of_a_multi_page_tiff_is_read_and_an_animation_warns(capsys, tmp_path, tiny_checkpoint,
                                                                        page_image):
    from PIL import Image

    first = Image.open(page_image).convert("L")
    path = tmp_path / "book.tif"
    first.save(path, save_all=True, append_images=[first.rotate(180), first], dpi=(400, 400))
    code, out, err = _run(capsys, path, "--checkpoint", tiny_checkpoint, "--format", "json")
    pages = json.loads(out)["pages"]
    assert code == 0 and "only the first" not in err
    assert [p["source"] for p in pages] == [f"{path}#page={n}" for n in (1, 2, 3)]
    assert pages[0]["text"] == pages[2]["text"]
    from crnn.io import document_pages

    assert [p.dpi for p in document_pages(path)] == [400, 400, 400]
    gif = tmp_path / "moving.gif"
    first.save(gif, save_all=True, append_images=[first.rotate(90)])
    code, _, err = _run(capsys, gif, "--checkpoint", tiny_checkpoint)
    assert code == 0 and "holds 2 images" in err and "only the first" in err


@pytest.mark.parametrize("value", ["nan", "-0.1", "1.5"])
def test_low_confidence_outside_zero_to_one_is_refused(capsys, tiny_checkpoint, page_image, value):
    code, _, err = _run(capsys, page_image, "--checkpoint", tiny_checkpoint, "--low-confidence", value)
    assert code == 2 and "--low-confidence" in err


def test_piping_into_head_ends_without_a_traceback(tmp_path, tiny_checkpoint, page_image):
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "scripts" / "ocr_page.py"
    command = (f"{sys.executable} {script} {page_image} {page_image} {page_image} {page_image} "
               f"--checkpoint {tiny_checkpoint} | head -c 1")
    done = subprocess.run(["bash", "-c", command], capture_output=True, text=True, timeout=300)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr


def test_word_boxes_account_for_the_gaps_narrowed_in_the_crop():
    # the crop read 48 px wide had 40 px taken out at column 24: the second word lies 40 px further right
    decoded = Decoded("ab cd", 0.5, (0.9, 0.8, 0.99, 0.7, 0.6), ((1, 1), (2, 3), (7, 7), (8, 8), (9, 9)))
    plain = word_boxes(Box(0, 0, 80, 20), decoded, crop_width=88, frame_px=4, margin_px=4)
    narrowed = word_boxes(Box(0, 0, 80, 20), decoded, crop_width=48, frame_px=4, margin_px=4,
                          closed_gaps=((24, 40),))
    assert narrowed[0].box == plain[0].box
    assert (narrowed[1].box.x0, narrowed[1].box.x1) == (plain[1].box.x0 + 40, plain[1].box.x1 + 40)


def test_the_command_exits_promptly_with_all_its_output_and_its_exit_code(capsys, tmp_path, tiny_checkpoint,
                                                                            page_image):
    # the shell skips the interpreter's teardown: what it printed and wrote must still all be there
    import subprocess
    import sys

    script = Path(__file__).resolve().parent.parent / "scripts" / "ocr_page.py"
    code, expected, _ = _run(capsys, page_image, "--checkpoint", tiny_checkpoint, "--format", "hocr")
    done = subprocess.run([sys.executable, str(script), str(page_image), "--checkpoint", str(tiny_checkpoint),
                           "--format", "hocr"], capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (code, expected) and code == 0
    missing = tmp_path / "missing.png"
    done = subprocess.run([sys.executable, str(script), str(page_image), str(missing), "--checkpoint",
                           str(tiny_checkpoint), "--output-dir", str(tmp_path / "out")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and str(missing) in done.stderr
    assert (tmp_path / "out" / "page.txt").read_text(encoding="utf-8") == expected_text(capsys, page_image,
                                                                                      tiny_checkpoint)


def expected_text(capsys, page_image, checkpoint) -> str:
    code, out, _ = _run(capsys, page_image, "--checkpoint", checkpoint)
    assert code == 0
    return out


def test_exit_promptly_flushes_buffered_output_first():
    import subprocess
    import sys

    program = ("import sys; from crnn.cli.common import exit_promptly; "
               "sys.stdout.write('x' * 200000); sys.stderr.write('done'); exit_promptly(3)")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-c", program], capture_output=True, text=True, timeout=60, cwd=root)
    assert (done.returncode, len(done.stdout), done.stderr) == (3, 200000, "done")
