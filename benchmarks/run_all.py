#!/usr/bin/env python
"""Speed benchmarks. Run with `make bench` (or pick sections: benchmarks/run_all.py layout inference).

Sections:
  synth      synthetic lines per second with 2 workers (render + augment + write), bytes per line
  train      training samples per second of the configured model on synthetic batches, parameter count
  inference  recognizer lines per second, batched, on normalized line crops
  decoders   greedy vs beam search (numpy prefix beam, keras.ops.ctc_decode): CER and speed
  layout     layout analysis time on one core: the reference page, and a 2-megapixel page with and
             without the column cuts and the orientation test
  layout_pages  line recall/precision at IoU >= 0.5 on 60 generated pages (seeds 0-59)
  real_pages    CER/WER and line recall per folder of ../shared/devset/eval, ours beside tesseract (make eval-real)
  page       whole-process wall time and peak memory for one page, ours (onnx, keras) vs `tesseract IMG stdout`
  warm       seconds per reference page in one process, per backend; a directory of 20 pages, ours vs tesseract
  onnx_threads  ONNX Runtime recognition of the reference page's lines: intra-op threads x batch size
  export     the two ONNX exports (LSTM operator, Keras' model.export): parity and recognition time
  webapp_start  seconds from starting serve.py to its first answer, per backend

Results are printed and written to benchmarks/results.json (one entry per section, with the machine).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
REFERENCE = ROOT.parent / "shared" / "reference" / "20000-leagues-006.jpg"
RESULTS = ROOT / "benchmarks" / "results.json"
sys.path.insert(0, str(ROOT))


def bench_synth(lines: int = 40000, trdg_lines: int = 8000) -> dict:
    """Lines per second of ``build_dataset`` with 2 workers, start-up (imports, fonts, word list) included.

    The Pillow backend caches rasterized glyphs and pair kerning per worker process, so its
    speed grows over a run; 40,000 lines is a third of the data set the committed model used.
    trdg draws every word anew and is measured on fewer lines.
    """
    from dataclasses import replace

    from crnn.config import load_config
    from crnn.synth.config import SynthConfig
    from crnn.synth.dataset import build_dataset

    config = replace(load_config(SynthConfig, ROOT / "configs" / "synth.yaml"), name="bench", sample_pngs=0)
    results = {}
    for backend, count in (("pillow", lines), ("trdg", trdg_lines)):
        cfg = replace(config, num_lines=count, render=replace(config.render, backend=backend))
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            build_dataset(cfg, Path(tmp) / "bench", workers=2, progress=False)
            elapsed = time.perf_counter() - started
            size = sum(p.stat().st_size for p in (Path(tmp) / "bench").glob("*.npz"))
        results[backend] = {"lines": count, "lines_per_second": round(count / elapsed, 1),
                            "bytes_per_line": round(size / count)}
    return {"workers": 2, **results}


def bench_train(steps: int = 12) -> dict:
    import keras
    import numpy as np

    from crnn.charset import Charset
    from crnn.config import load_config
    from crnn.recognize.architectures import build_model
    from crnn.recognize.model import can_fit
    from crnn.synth.config import SynthConfig
    from crnn.synth.dataset import generate_lines
    from crnn.synth.render import select_fonts
    from crnn.training import TrainConfig
    from crnn.training.batches import LineSet, epoch_batches, make_batch
    from crnn.training.loss import make_trainer

    config = load_config(TrainConfig, ROOT / "configs" / "train.yaml")
    synth = load_config(SynthConfig, ROOT / "configs" / "synth.yaml")
    charset = Charset()
    samples = [s for s in generate_lines(synth, "train", 0, 640, select_fonts(synth.render))
               if can_fit(charset.encode(s.text), s.image.shape[1], config.model)]
    lines = LineSet([s.image for s in samples], [s.text for s in samples],
                    [charset.encode(s.text) for s in samples])
    model = build_model(config.model, charset.num_classes, synth.geometry.height)
    trainer = make_trainer(model, keras.optimizers.Adam(1e-3, clipnorm=config.clipnorm))
    batches = epoch_batches(lines.widths, config.batch_size, steps + 2, config.seed, 0, config.bucket_batches)
    for indices in batches[:2]:  # trace the step function
        trainer.train_on_batch(*make_batch(lines, indices, config.model, config.width_quantum))
    started = time.perf_counter()
    for indices in batches[2:]:
        trainer.train_on_batch(*make_batch(lines, indices, config.model, config.width_quantum))
    elapsed = time.perf_counter() - started
    return {"samples_per_second": round(steps * config.batch_size / elapsed, 1), "batch_size": config.batch_size,
            "parameters": int(model.count_params()), "mean_line_width": round(float(np.mean(lines.widths)))}


def bench_inference(checkpoint: Path, count: int = 512) -> dict:
    from crnn.config import load_config
    from crnn.pipeline import PageReader
    from crnn.synth.config import SynthConfig
    from crnn.synth.dataset import generate_lines
    from crnn.synth.render import select_fonts

    synth = load_config(SynthConfig, ROOT / "configs" / "synth.yaml")
    fonts = select_fonts(synth.render)
    crops = [s.image for s in generate_lines(synth, "validation", 99, count, fonts)]
    reader = PageReader(checkpoint)
    # warm up on other lines: TensorFlow traces and oneDNN plans each new batch shape once, which a
    # long job pays only at its start
    reader.recognize_lines([s.image for s in generate_lines(synth, "validation", 97, count, fonts)])
    started = time.perf_counter()
    reader.recognize_lines(crops)
    elapsed = time.perf_counter() - started
    beam = PageReader(checkpoint, decoder="beam")
    started = time.perf_counter()
    beam.recognize_lines(crops[:128])
    beam_elapsed = time.perf_counter() - started
    return {"greedy_lines_per_second": round(count / elapsed, 1),
            "beam8_lines_per_second": round(128 / beam_elapsed, 1)}


def bench_decoders(checkpoint: Path, count: int = 300) -> dict:
    """Greedy vs numpy prefix beam (plain and with the word list) vs keras.ops.ctc_decode beam: CER on held-out
    synthetic lines, and speed."""
    import numpy as np
    from keras import ops

    from crnn.config import load_config
    from crnn.evaluation.metrics import cer
    from crnn.recognize import load_recognizer, make_decoder
    from crnn.recognize.batching import width_sorted_batches
    from crnn.recognize.decoders import decode_batch
    from crnn.synth.config import SynthConfig
    from crnn.synth.dataset import generate_lines
    from crnn.synth.render import select_fonts

    synth = load_config(SynthConfig, ROOT / "configs" / "synth.yaml")
    samples = list(generate_lines(synth, "validation", 98, count, select_fonts(synth.render)))
    recognizer = load_recognizer(checkpoint)
    batches = width_sorted_batches([s.image.shape[1] for s in samples], 32)
    outputs = [recognizer.logits([samples[i].image for i in b]) for b in batches]
    truth = [samples[i].text for b in batches for i in b]
    result = {"lines": count}
    for name, method in (("greedy", "greedy"), ("numpy_beam8", "beam"), ("words_beam8", "words")):
        decoder = make_decoder(method, beam_width=8)
        started = time.perf_counter()
        texts = [d.text for logits, lengths in outputs
                 for d in decode_batch(logits, lengths, recognizer.charset, decoder)]
        elapsed = time.perf_counter() - started
        result[name] = {"cer": round(cer(truth, texts), 5), "lines_per_second": round(count / elapsed, 1)}
    started = time.perf_counter()
    texts = []
    for logits, lengths in outputs:
        decoded, _ = ops.ctc_decode(logits, lengths, strategy="beam_search", beam_width=8, top_paths=1,
                                    mask_index=0)
        for row in np.asarray(decoded[0]):
            texts.append(recognizer.charset.decode([int(i) for i in row if i > 0]))
    elapsed = time.perf_counter() - started
    result["keras_beam8"] = {"cer": round(cer(truth, texts), 5), "lines_per_second": round(count / elapsed, 1)}
    return result


def bench_layout_pages(seeds: range = range(60)) -> dict:
    from crnn.evaluation.layout_score import score_layout

    score = score_layout(seeds)
    return {"pages": score.pages, "seeds": f"{seeds.start}-{seeds.stop - 1}", "line_recall": round(score.recall, 4),
            "line_precision": round(score.precision, 4),
            "lines_inside_illustrations": score.lines_inside_illustrations}


def _median_ms(function, repeats: int) -> tuple[float, float]:
    function()
    times = []
    for _ in range(repeats):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    times.sort()
    return round(1000 * times[len(times) // 2], 1), round(1000 * times[0], 1)


def bench_layout(repeats: int = 30) -> dict:
    import dataclasses

    import cv2

    from crnn.io import load_image
    from crnn.layout import LayoutConfig, segment_page
    from crnn.layout.config import ColumnConfig, OrientationConfig
    from crnn.synth.pages import PageGenerator

    gray = load_image(REFERENCE)
    # two threads, as a reader runs by default (crnn.threads), then one core: OpenCV's own
    # threads and ours both held to one
    threads = os.environ.get("CRNN_THREADS")
    os.environ["CRNN_THREADS"] = "2"
    two_threads, _ = _median_ms(lambda: segment_page(gray), repeats)
    os.environ["CRNN_THREADS"] = "1"
    cv2.setNumThreads(1)
    median, fastest = _median_ms(lambda: segment_page(gray), repeats)
    # the median is the figure; the fastest run shows how much of it is the machine's jitter
    result = {"reference_page_ms_median": median, "reference_page_ms_fastest": fastest, "runs": repeats, "threads": 1,
              "reference_page_ms_median_two_threads": two_threads}
    # a generated page scaled to two megapixels, with and without the column cuts and the orientation test
    page = PageGenerator(3).generate(two_pages=False).image
    factor = (2_000_000 / page.size) ** 0.5
    page = cv2.resize(page, None, fx=factor, fy=factor, interpolation=cv2.INTER_CUBIC)
    full = LayoutConfig()
    no_columns = dataclasses.replace(full, columns=ColumnConfig(enabled=False))
    neither = dataclasses.replace(no_columns, orientation=OrientationConfig(enabled=False))
    result["two_megapixel_page"] = f"{page.shape[1]}x{page.shape[0]}"
    for name, config in (("all", full), ("without_columns", no_columns), ("without_columns_or_orientation", neither)):
        result[f"two_megapixel_ms_{name}"] = _median_ms(lambda c=config: segment_page(page, c), repeats)[0]
    if threads is None:
        os.environ.pop("CRNN_THREADS")
    else:
        os.environ["CRNN_THREADS"] = threads
    cv2.setNumThreads(-1)
    return result


def bench_real_pages(existing: Path | None = None) -> dict:
    """`make eval-real`'s evaluation of ../shared/devset/eval, ours beside tesseract, summarized per folder
    (``existing``: the results.json a `make eval-real` run just wrote, summarized instead of run again)."""
    from crnn.cli.evaluate import main as evaluate

    if existing is not None:
        data = json.loads(existing.read_text(encoding="utf-8"))
        return _real_pages_summary(data)
    devset = ROOT.parent / "shared" / "devset" / "eval"
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "results.json"
        folders = sorted(str(p) for p in devset.iterdir() if p.is_dir())
        evaluate([*folders, "--omits-first-line", "dp_*", "--json", str(out)])
        data = json.loads(out.read_text(encoding="utf-8"))
    return _real_pages_summary(data)


def _real_pages_summary(data: dict) -> dict:
    summary = {}
    for folder in data["folders"]:
        summary[folder["folder"]] = {"mode": folder["mode"], "items": folder["items"], **{
            ("ours" if e["engine"].startswith("crnn") else "tesseract"): {
                "cer_folded": round(e["cer"], 4), "cer_raw": round(e["cer_raw"], 4), "wer": round(e["wer"], 4),
                "line_recall": round(e["line_recall"], 4),
                "seconds_per_item": round(e["seconds"] / max(len(e["items"]), 1), 3)}
            for e in folder["engines"]}}
    return {"engines": data["engines"], "folders": summary}


def _timed_process(command: list[str], env: dict[str, str] | None = None) -> tuple[float, int]:
    """Wall seconds and peak RSS (MB) of a command, via GNU time if present, else wall time only."""
    gnu_time = shutil.which("time") or ("/usr/bin/time" if Path("/usr/bin/time").exists() else None)
    with tempfile.NamedTemporaryFile(suffix=".txt") as report:
        full = [gnu_time, "-v", "-o", report.name, *command] if gnu_time else command
        started = time.perf_counter()
        subprocess.run(full, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                       env={**os.environ, **(env or {})})
        elapsed = time.perf_counter() - started
        rss = 0
        if gnu_time:
            for line in Path(report.name).read_text().splitlines():
                if "Maximum resident set size" in line:
                    rss = int(line.split(":")[1]) // 1024
    return elapsed, rss


def _median(values: list[float]) -> float:
    return sorted(values)[len(values) // 2]


def _tesseract_runs(images: list[Path], repeats: int, threads: str | None) -> tuple[float, int]:
    """Median wall seconds (over ``repeats``) and peak RSS of `tesseract IMG stdout`, one process per image."""
    tesseract = shutil.which("tesseract")
    env = {"OMP_THREAD_LIMIT": threads} if threads else None
    walls, peak = [], 0
    for _ in range(repeats):
        total = 0.0
        for image in images:
            wall, rss = _timed_process([tesseract, str(image), "stdout"], env)
            total, peak = total + wall, max(peak, rss)
        walls.append(total)
    return _median(walls), peak


def bench_page(checkpoint: Path, repeats: int = 5) -> dict:
    """One reference page, whole process (start-up, model load, layout, recognition, output), median of runs.

    Ours with each backend; tesseract with one OpenMP thread (its best setting on 2 cores: its
    default threads made it several times slower there) and with its defaults, in the same run.
    """
    result: dict = {"repeats": repeats}
    for backend in ("onnx", "keras"):
        command = [sys.executable, str(ROOT / "scripts" / "ocr_page.py"), str(REFERENCE), "--checkpoint",
                   str(checkpoint), "--backend", backend]
        runs = [_timed_process(command) for _ in range(repeats)]
        result[f"ours_{backend}"] = {"seconds": round(_median([w for w, _ in runs]), 3),
                                     "peak_rss_mb": max(r for _, r in runs)}
    if not shutil.which("tesseract"):
        result["tesseract"] = "not installed (apt-get install tesseract-ocr to compare)"
        return result
    wall, rss = _tesseract_runs([REFERENCE], repeats, "1")
    result["tesseract_1_thread"] = {"seconds": round(wall, 3), "peak_rss_mb": rss}
    wall, rss = _tesseract_runs([REFERENCE], max(1, repeats // 2), None)
    result["tesseract_default_threads"] = {"seconds": round(wall, 3), "peak_rss_mb": rss}
    best = min(result["tesseract_1_thread"]["seconds"], result["tesseract_default_threads"]["seconds"])
    for backend in ("onnx", "keras"):
        result[f"ours_{backend}"]["time_ratio_to_fastest_tesseract"] = round(
            result[f"ours_{backend}"]["seconds"] / best, 2)
    return result


def _generated_pages(directory: Path, count: int) -> list[Path]:
    """``count`` generated pages (single pages and spreads, seeds 100...) as JPEG files."""
    import cv2

    from crnn.synth.pages import PageGenerator

    paths = []
    for seed in range(100, 100 + count):
        path = directory / f"page{seed}.jpg"
        cv2.imwrite(str(path), PageGenerator(seed).generate(two_pages=seed % 2 == 0).image,
                    [cv2.IMWRITE_JPEG_QUALITY, 90])
        paths.append(path)
    return paths


def bench_warm(checkpoint: Path, repeats: int = 10, pages: int = 20) -> dict:
    """Warm, in one process: seconds per reference page (median), per backend; and a directory of ``pages``
    generated pages read by one `ocr_page.py DIR` process (start-up included) beside tesseract run per page."""
    from crnn.io import load_image
    from crnn.pipeline import PageReader

    result: dict = {}
    image = load_image(REFERENCE)
    for backend in ("onnx", "keras"):
        reader = PageReader(checkpoint, backend=backend)
        for _ in range(2):  # traces and plans for the page's batch shapes (_median_ms runs it once more)
            reader.read(image)
        median_ms, _ = _median_ms(lambda reader=reader: reader.read(image), repeats)
        result[f"reference_page_seconds_{backend}"] = round(median_ms / 1000, 3)
    with tempfile.TemporaryDirectory() as tmp:
        paths = _generated_pages(Path(tmp), pages)
        command = [sys.executable, str(ROOT / "scripts" / "ocr_page.py"), tmp, "--checkpoint", str(checkpoint)]
        wall, rss = _timed_process(command)
        result["directory"] = {"pages": pages, "ours_seconds": round(wall, 2), "ours_peak_rss_mb": rss,
                               "ours_pages_per_second": round(pages / wall, 2)}
        if shutil.which("tesseract"):
            t_wall, t_rss = _tesseract_runs(paths, 1, "1")
            result["directory"] |= {"tesseract_1_thread_seconds": round(t_wall, 2), "tesseract_peak_rss_mb": t_rss,
                                    "tesseract_pages_per_second": round(pages / t_wall, 2),
                                    "pages_per_second_ratio_ours_to_tesseract": round(t_wall / wall, 2)}
    return result


def bench_onnx_threads(checkpoint: Path, repeats: int = 5) -> dict:
    """Recognition of the reference page's lines under ONNX Runtime: intra-op threads x batch size
    (lines batched by width as the reader does; "all" is one batch padded to the widest line)."""
    from crnn.pipeline import PageReader
    from crnn.recognize.backends import OnnxBackend
    from crnn.recognize.batching import width_sorted_batches
    from crnn.recognize.model import prepare_images

    reader = PageReader(checkpoint, backend="onnx")
    crops = [region.crop for region in reader.read(REFERENCE).line_regions]
    checkpoint_info = reader.recognizer.checkpoint
    result: dict = {"lines": len(crops)}
    for threads in (1, 2):
        backend = OnnxBackend(checkpoint_info, threads=threads)
        for batch in (8, 16, 32, len(crops)):
            batches = [prepare_images([crops[i] for i in indices], width_quantum=checkpoint_info.width_quantum)[0]
                       for indices in width_sorted_batches([c.shape[1] for c in crops], batch)]
            def run(backend=backend, batches=batches) -> None:
                for images in batches:
                    backend.logits(images)

            label = "all" if batch == len(crops) else str(batch)
            result[f"threads{threads}_batch{label}_ms"] = _median_ms(run, repeats)[0]
    return result


def bench_export(checkpoint: Path, repeats: int = 5) -> dict:
    """The two ONNX exports of the committed model (ONNX's LSTM operator vs Keras' model.export with Loop
    subgraphs), made in a scratch copy: parity with Keras and recognition time of the reference page's lines."""
    from crnn.export import export_checkpoint
    from crnn.pipeline import PageReader
    from crnn.recognize.backends import OnnxBackend
    from crnn.recognize.checkpoint import read_checkpoint

    crops = [region.crop for region in PageReader(checkpoint, backend="keras").read(REFERENCE).line_regions]
    result: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        scratch = Path(tmp) / "checkpoint"
        shutil.copytree(checkpoint, scratch)
        for name in ("onnx", "onnx-keras"):
            report = export_checkpoint(scratch, name)
            reader = PageReader(scratch, backend="onnx")
            recognition_ms, _ = _median_ms(lambda reader=reader: reader.recognize_lines(crops), repeats)
            result[name] = {"export_seconds": round(report.seconds, 1), "size_mb": round(report.size_bytes / 1e6, 2),
                            "max_abs_logit_difference": float(f"{report.parity.max_abs_difference:.2e}"),
                            "greedy_text_mismatches": report.parity.text_mismatches,
                            "parity_lines": report.parity.lines,
                            "reference_page_recognition_ms": recognition_ms}
            assert isinstance(reader.recognizer.backend, OnnxBackend) and read_checkpoint(scratch)
    return result


def bench_batch(checkpoint: Path, count: int = 40) -> dict:
    """The batch runner on ``count`` generated pages: 1 and 2 local workers and 2 Ray workers (start-up
    included and not), beside tesseract over the same pages (one process per page, one OpenMP
    thread; one at a time and two at a time), in the same run; and what a Ray cluster of N
    machines would give, as a model computed from the measured per-worker rate and driver cost."""
    import concurrent.futures
    import tempfile

    from crnn.batch import ReaderSettings, find_jobs, make_executor, run_batch

    result: dict = {"pages": count}
    with tempfile.TemporaryDirectory(prefix="crnn-bench-batch-") as folder:
        pages_dir = Path(folder) / "pages"
        pages_dir.mkdir()
        pages = _generated_pages(pages_dir, count)
        jobs = find_jobs([pages_dir])
        settings = ReaderSettings(checkpoint, backend="onnx")
        for name, kind, workers in (("local_1_worker", "local", 1), ("local_2_workers", "local", 2),
                                    ("ray_2_workers", "ray", 2)):
            if kind == "ray" and importlib.util.find_spec("ray") is None:
                result[name] = "ray not installed"
                continue
            started = time.perf_counter()
            executor = make_executor(kind, settings, workers)
            ready, cpu = time.perf_counter(), time.process_time()
            summary = run_batch(jobs, Path(folder) / name, ["txt"], executor)
            finished, cpu = time.perf_counter(), time.process_time() - cpu
            executor.close()
            assert summary.ok and summary.pages_read == count, summary.failures
            result[name] = {
                "start_seconds": round(ready - started, 2), "run_seconds": round(finished - ready, 2),
                "pages_per_second": round(count / (finished - started), 2),
                "pages_per_second_after_start": round(count / (finished - ready), 2),
                "driver_seconds_per_page": round(summary.driver_seconds / count, 4),
                # the driver process's CPU, all its threads (Ray's included): what one driver spends per page
                # (with one local worker the reading itself runs in the driver, so it is in there too)
                "driver_cpu_seconds_per_page": round(cpu / count, 4),
            }
        if shutil.which("tesseract"):
            tesseract = shutil.which("tesseract")

            def one(image: Path) -> None:
                subprocess.run([tesseract, str(image), "stdout"], capture_output=True, check=True,
                               env={**os.environ, "OMP_THREAD_LIMIT": "1"})

            for name, parallel in (("tesseract_1_process", 1), ("tesseract_2_processes", 2)):
                started = time.perf_counter()
                with concurrent.futures.ThreadPoolExecutor(parallel) as pool:
                    list(pool.map(one, pages))
                result[name] = {"pages_per_second": round(count / (time.perf_counter() - started), 2)}
            for name in ("local_1_worker", "local_2_workers", "ray_2_workers"):
                if isinstance(result.get(name), dict):
                    result[name]["ratio_to_tesseract_same_processes"] = round(
                        result[name]["pages_per_second"]
                        / result["tesseract_2_processes" if "2" in name else "tesseract_1_process"]["pages_per_second"],
                        2)
    ray_run = result.get("ray_2_workers")
    if isinstance(ray_run, dict):
        per_worker = ray_run["pages_per_second_after_start"] / 2
        driver = max(ray_run["driver_cpu_seconds_per_page"], 1e-4)
        result["ray_cluster_model"] = {
            "assumes": "machines like this one, 2 workers each, inputs on shared storage; rate = min(N x 2 x "
                       "per-worker rate, 1 / driver CPU seconds per page); start-up and network not modelled",
            "per_worker_pages_per_second": round(per_worker, 2),
            "driver_limit_pages_per_second": round(1 / driver, 1),
            "pages_per_second_by_machines": {str(n): round(min(n * 2 * per_worker, 1 / driver), 1)
                                             for n in (1, 2, 4, 8, 16, 32)},
        }
    return result


def bench_webapp_start(checkpoint: Path) -> dict:
    """Seconds from starting `serve.py` to its first answer (GET /api/health), per backend."""
    import socket
    import urllib.request

    result = {}
    for backend in ("onnx", "keras"):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        started = time.perf_counter()
        server = subprocess.Popen([sys.executable, str(ROOT / "scripts" / "serve.py"), "--port", str(port),
                                   "--checkpoint", str(checkpoint), "--backend", backend],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            while time.perf_counter() - started < 120:
                try:
                    with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/health", timeout=1) as answer:
                        if answer.status == 200:
                            break
                except OSError:
                    time.sleep(0.02)
            result[f"{backend}_seconds_to_first_answer"] = round(time.perf_counter() - started, 2)
        finally:
            server.terminate()
            server.wait(timeout=30)
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sections = ("synth", "train", "inference", "decoders", "layout", "layout_pages", "page", "warm", "onnx_threads",
                "export", "webapp_start", "real_pages", "batch")
    parser.add_argument("sections", nargs="*", help=f"any of {', '.join(sections)} (default: all)")
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "default")
    parser.add_argument("--real-results", type=Path,
                        help="real_pages: summarize this results.json of `make eval-real` instead of running it again")
    args = parser.parse_args(argv)
    unknown = sorted(set(args.sections) - set(sections))
    if unknown:
        parser.error(f"unknown section(s): {', '.join(unknown)}")
    args.sections = args.sections or list(sections)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    results = json.loads(RESULTS.read_text()) if RESULTS.exists() else {}
    from crnn.training.provenance import machine_description

    machine = {**machine_description(), "python": platform.python_version()}
    for section in args.sections:
        if section in ("layout", "page", "warm", "onnx_threads", "export") and not REFERENCE.is_file():
            print(f"{section}: skipped ({REFERENCE} not found)")
            continue
        if section == "real_pages" and not (ROOT.parent / "shared" / "devset" / "eval").is_dir():
            print(f"{section}: skipped (../shared/devset/eval not found)")
            continue
        runner = {"synth": bench_synth, "train": bench_train, "layout": bench_layout,
                  "inference": lambda: bench_inference(args.checkpoint), "page": lambda: bench_page(args.checkpoint),
                  "decoders": lambda: bench_decoders(args.checkpoint), "layout_pages": bench_layout_pages,
                  "real_pages": lambda: bench_real_pages(args.real_results),
                  "warm": lambda: bench_warm(args.checkpoint),
                  "onnx_threads": lambda: bench_onnx_threads(args.checkpoint),
                  "export": lambda: bench_export(args.checkpoint),
                  "webapp_start": lambda: bench_webapp_start(args.checkpoint),
                  "batch": lambda: bench_batch(args.checkpoint)}
        result = runner[section]()
        results[section] = {**result, "machine": machine, "date": time.strftime("%Y-%m-%d")}
        print(f"{section}: {json.dumps(result)}", flush=True)
    RESULTS.write_text(json.dumps(results, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
