"""The batch runner: a mirrored tree of outputs equal to ocr_page.py's, a manifest, resuming, failures
recorded, on a local process pool and on a local Ray."""

from __future__ import annotations

import json
import os
import signal
import threading
from pathlib import Path

import cv2
import pytest
from PIL import Image

from crnn.batch import (
    MANIFEST_NAME,
    BatchInputError,
    ReaderSettings,
    find_jobs,
    make_executor,
    run_batch,
)
from crnn.cli.ocr_batch import main as batch_main
from crnn.cli.ocr_page import main as page_main
from crnn.recognize import DEFAULT_CHECKPOINT

SETTINGS = ReaderSettings(DEFAULT_CHECKPOINT)
FORMATS = ["txt", "json"]


@pytest.fixture(scope="module")
def book(tmp_path_factory) -> Path:
    """A generated book of 12 pages as images in two chapter folders, and the same pages as one PDF."""
    from crnn.synth.pages import PageGenerator

    root = tmp_path_factory.mktemp("book")
    generator = PageGenerator(12)
    images = [generator.generate(two_pages=False).image for _ in range(12)]
    for number, image in enumerate(images, 1):
        chapter = root / "pages" / f"chapter{1 + (number - 1) // 6}"
        chapter.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(chapter / f"p{number:02d}.png"), image)
    pictures = [Image.fromarray(image) for image in images]
    pictures[0].save(root / "book.pdf", save_all=True, append_images=pictures[1:], resolution=300)
    return root


def _outputs(folder: Path) -> dict[str, str]:
    """Every output file under ``folder`` (manifest aside) by its relative path, JSON without its timing-free parts."""
    found = {}
    for path in sorted(folder.rglob("*")):
        if path.is_file() and path.name != MANIFEST_NAME:
            found[str(path.relative_to(folder))] = path.read_text(encoding="utf-8")
    return found


def _records(folder: Path) -> list[dict]:
    return [json.loads(line) for line in (folder / MANIFEST_NAME).read_text().splitlines()]


@pytest.fixture(scope="module")
def expected(book, tmp_path_factory) -> dict[str, str]:
    """What ocr_page.py writes for each page image and for the PDF, in txt and json."""
    out = tmp_path_factory.mktemp("expected")
    pages = sorted((book / "pages").rglob("*.png"))
    found: dict[str, str] = {}
    for fmt in FORMATS:
        for page in pages:
            target = out / page.parent.relative_to(book / "pages")
            assert page_main([str(page), "--format", fmt, "--output-dir", str(target)]) == 0
        assert page_main([str(book / "book.pdf"), "--format", fmt, "--output-dir", str(out)]) == 0
    for path in sorted(out.rglob("*")):
        if path.is_file():
            found[str(path.relative_to(out))] = path.read_text(encoding="utf-8")
    assert len(found) == 2 * 13
    return found


def test_jobs_mirror_the_tree_and_refuse_what_cannot_be_read(book, tmp_path):
    jobs = find_jobs([book])
    assert sorted(str(job.relative) for job in jobs) == ["book", *[f"pages/chapter{1 + (n - 1) // 6}/p{n:02d}"
                                                                   for n in range(1, 13)]]
    listing = tmp_path / "list.txt"
    listing.write_text(f"# two pages\n{book / 'pages/chapter1/p01.png'}\n\n{book / 'book.pdf'}\n")
    assert [str(job.relative) for job in find_jobs([listing])] == ["p01", "book"]
    listing.write_text("missing.png\n")
    with pytest.raises(BatchInputError, match=r"list\.txt:1: missing\.png: not found"):
        find_jobs([listing])
    with pytest.raises(BatchInputError, match="no such file"):
        find_jobs([tmp_path / "nothing"])
    twin = tmp_path / "twin"
    twin.mkdir()
    cv2.imwrite(str(twin / "p01.png"), cv2.imread(str(book / "pages/chapter1/p01.png")))
    with pytest.raises(BatchInputError, match="same outputs"):
        find_jobs([twin, book / "pages/chapter1"])


def test_local_runner_gives_what_ocr_page_gives(book, expected, tmp_path):
    for workers in (1, 2):
        out = tmp_path / f"workers{workers}"
        executor = make_executor("local", SETTINGS, workers)
        try:
            summary = run_batch(find_jobs([book / "pages", book / "book.pdf"]), out, FORMATS, executor)
        finally:
            executor.close()
        assert summary.ok and summary.read == 13 and summary.pages_read == 24
        got = _outputs(out)
        # the images are mirrored below pages/, the PDF beside them
        assert got == {name: text for name, text in expected.items()}
        records = _records(out)
        assert sorted(r["input"] for r in records) == sorted(
            ["book.pdf", *[f"chapter{1 + (n - 1) // 6}/p{n:02d}.png" for n in range(1, 13)]])
        pdf_record = next(r for r in records if r["input"] == "book.pdf")
        assert pdf_record["pages"] == 12 and pdf_record["error"] is None and len(pdf_record["sha256"]) == 64
        assert pdf_record["outputs"] == ["book.txt", "book.json"] and 0 < pdf_record["confidence"] <= 1
        if workers == 2:
            assert len({w for r in records for w in r["workers"]}) == 2  # both workers read pages


def test_an_interrupted_run_reads_only_what_is_left(book, tmp_path):
    out = tmp_path / "out"
    jobs = find_jobs([book / "pages"])
    written: list[str] = []

    def stop_after_five(record: dict) -> None:
        written.append(record["input"])
        if len(written) == 5:
            raise KeyboardInterrupt

    executor = make_executor("local", SETTINGS, 2)
    try:
        with pytest.raises(KeyboardInterrupt):
            run_batch(jobs, out, ["txt"], executor, on_document=stop_after_five)
    finally:
        executor.close()
    assert len(_records(out)) == 5 and len(list(out.rglob("*.txt"))) == 5
    assert not list(out.rglob(".*.partial"))  # no output left half written
    read: list[str] = []
    executor = make_executor("local", SETTINGS, 1)
    try:
        summary = run_batch(jobs, out, ["txt"], executor, on_document=lambda r: read.append(r["input"]))
    finally:
        executor.close()
    assert summary.skipped == 5 and summary.read == 7 and summary.pages_read == 7
    assert sorted(read + written) == sorted(job.key for job in jobs)
    # an input that changed is read again, whatever its output says
    changed = jobs[0].path.read_bytes()
    try:
        cv2.imwrite(str(jobs[0].path), 255 - cv2.imread(str(jobs[0].path), cv2.IMREAD_GRAYSCALE))
        executor = make_executor("local", SETTINGS, 1)
        summary = run_batch(jobs, out, ["txt"], executor)
        executor.close()
        assert summary.read == 1 and summary.skipped == 11
    finally:
        jobs[0].path.write_bytes(changed)


def test_ctrl_c_keeps_what_is_done_and_the_next_run_reads_the_rest_without_ray(book, tmp_path):
    import subprocess
    import sys
    import time

    out = tmp_path / "out"
    # the local runner, in a process of its own as a user runs it, stopped by SIGINT (Ctrl-C) mid-run
    # (Ctrl-C's handler restored first: a shell that runs the tests in the background starts them with
    # SIGINT ignored, and Python keeps it so)
    code = ("import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
            "from crnn.cli.ocr_batch import main; rc = main(sys.argv[1:]); "
            "assert 'ray' not in sys.modules, 'the local runner imported ray'; sys.exit(rc)")
    argv = [sys.executable, "-c", code, str(book / "pages"), "-o", str(out), "--workers", "2", "--no-progress"]
    process = subprocess.Popen(argv, stderr=subprocess.PIPE, text=True, cwd=Path(__file__).parent.parent)
    manifest = out / MANIFEST_NAME
    deadline = time.time() + 120
    while time.time() < deadline and (not manifest.is_file() or len(manifest.read_text().splitlines()) < 3):
        time.sleep(0.05)
    process.send_signal(signal.SIGINT)
    _, err = process.communicate(timeout=120)
    done = len(_records(out))
    assert process.returncode == 130 and "interrupted" in err and "Traceback" not in err
    assert 3 <= done < 12 and len(list(out.rglob("*.txt"))) == done
    finished = subprocess.run(argv, stderr=subprocess.PIPE, text=True, timeout=300, cwd=Path(__file__).parent.parent)
    assert finished.returncode == 0 and f"{12 - done} read, {done} already done, 0 failed" in finished.stderr


def test_a_local_worker_killed_mid_run_is_replaced_and_every_page_done_once(book, tmp_path):
    out = tmp_path / "out"
    killed: list[int] = []

    def kill_a_worker(record: dict) -> None:
        if not killed:
            pid = int(record["workers"][0].rpartition(":")[2])
            killed.append(pid)
            os.kill(pid, signal.SIGKILL)

    executor = make_executor("local", SETTINGS, 2)
    try:
        summary = run_batch(find_jobs([book / "pages"]), out, ["txt"], executor, on_document=kill_a_worker)
    finally:
        executor.close()
    records = _records(out)
    assert killed and summary.ok and summary.read == 12 and summary.pages_read == 12
    assert len(records) == 12 and len({r["input"] for r in records}) == 12
    # the pages after the loss were read by a new pool's processes
    assert len({w for r in records for w in r["workers"]}) >= 3
    assert len(list(out.rglob("*.txt"))) == 12


def test_a_corrupt_page_is_recorded_and_the_rest_are_read(book, tmp_path, capsys):
    pages = tmp_path / "pages"
    for number, page in enumerate(sorted((book / "pages").rglob("*.png")), 1):
        data = page.read_bytes()
        (pages / page.parent.name).mkdir(parents=True, exist_ok=True)
        (pages / page.parent.name / page.name).write_bytes(data[: len(data) // 3] if number == 6 else data)
    out = tmp_path / "out"
    code = batch_main([str(pages), "-o", str(out), "--workers", "2", "--format", "txt", "--no-progress"])
    err = capsys.readouterr().err
    assert code == 1
    assert "11 read, 0 already done, 1 failed" in err and "p06.png" in err and "Traceback" not in err
    records = {r["input"]: r for r in _records(out)}
    assert records["chapter1/p06.png"]["error"] and records["chapter1/p06.png"]["outputs"] == []
    assert sum(r["error"] is None for r in records.values()) == 11 and len(list(out.rglob("*.txt"))) == 11
    # run again: the eleven are done, the broken one is tried again and fails again
    assert batch_main([str(pages), "-o", str(out), "--format", "txt", "--no-progress"]) == 1
    assert "0 read, 11 already done, 1 failed" in capsys.readouterr().err


def test_the_command_line_refuses_bad_usage_in_one_line(book, tmp_path, capsys):
    afile = tmp_path / "file"
    afile.write_text("x")
    pdf_here = tmp_path / "scans"
    pdf_here.mkdir()
    (pdf_here / "book.pdf").write_bytes((book / "book.pdf").read_bytes())
    pages, out = str(book / "pages"), str(tmp_path / "o")
    for args, message in (([pages, "-o", out, "--workers", "-1"], "--workers"),
                          ([pages, "-o", out, "--pdf-dpi", "nan"], "--pdf-dpi"),
                          ([pages, "-o", str(afile)], "is a file"),
                          ([str(tmp_path / "none"), "-o", out], "no such file"),
                          ([str(pdf_here), "-o", str(pdf_here), "--format", "pdf"], "would overwrite an input")):
        assert batch_main(args) == 2
        err = capsys.readouterr().err
        assert message in err and err.count("\n") == 1


def test_an_output_folder_inside_the_input_folder_is_not_read_as_input(book, tmp_path):
    scans = tmp_path / "scans"
    scans.mkdir()
    (scans / "book.pdf").write_bytes((book / "book.pdf").read_bytes())
    (scans / "ocr").mkdir()
    (scans / "ocr" / "old.pdf").write_bytes((book / "book.pdf").read_bytes())  # an output of an earlier run
    assert [str(job.relative) for job in find_jobs([scans], exclude=scans / "ocr")] == ["book"]


@pytest.fixture(scope="module")
def local_ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, configure_logging=False)
    yield ray
    ray.shutdown()


@pytest.mark.slow
def test_ray_with_two_workers_gives_what_ocr_page_gives(book, expected, local_ray, tmp_path):
    out = tmp_path / "ray"
    executor = make_executor("ray", SETTINGS, 2)
    try:
        summary = run_batch(find_jobs([book / "pages", book / "book.pdf"]), out, FORMATS, executor)
    finally:
        executor.close()
    assert summary.ok and summary.read == 13 and summary.pages_read == 24
    assert _outputs(out) == expected
    assert len({w for r in _records(out) for w in r["workers"]}) == 2


@pytest.mark.slow
def test_a_ray_worker_killed_mid_run_still_ends_with_every_page_done_once(book, local_ray, tmp_path):
    out = tmp_path / "ray"
    executor = make_executor("ray", SETTINGS, 2)
    victim = executor.worker_pids()[0]
    killed = threading.Event()

    def kill_once(done: int, total: int) -> None:
        if done == 3 and not killed.is_set():  # pages are in flight on both workers
            killed.set()
            os.kill(victim, signal.SIGKILL)

    try:
        summary = run_batch(find_jobs([book / "pages"]), out, ["txt"], executor, progress=kill_once)
        pids_after = executor.worker_pids()
    finally:
        executor.close()
    assert killed.is_set() and victim not in pids_after  # Ray restarted the worker
    records = _records(out)
    assert summary.ok and summary.read == 12 and summary.pages_read == 12
    assert sorted(r["input"] for r in records) == sorted({r["input"] for r in records})  # each once
    assert len(records) == 12 and all(r["error"] is None for r in records)
    assert len(list(out.rglob("*.txt"))) == 12
