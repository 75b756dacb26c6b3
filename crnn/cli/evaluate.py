"""Score the OCR on folders of real pages or lines with transcriptions: ``evaluate.py DIR [DIR ...]``.

Each folder holds images with ``X.gt.txt`` beside them (the tesstrain / Calamari / kraken
convention). When a ``tesseract`` binary is on the PATH it reads the same items in the same
run, and its figures stand beside ours.
"""

from __future__ import annotations

import argparse
import dataclasses
import fnmatch
import json
import os
import platform
import shlex
import sys
import time
from pathlib import Path

from crnn.cli.common import UsageError, add_backend_option, open_reader
from crnn.recognize import DECODERS, DEFAULT_CHECKPOINT


def build_parser() -> argparse.ArgumentParser:
    """The command line of `evaluate.py`."""
    parser = argparse.ArgumentParser(
        prog="evaluate.py",
        description="Measure CER/WER of the OCR on folders of real pages (page mode) or line images (line mode), "
        "each image with its transcription X.gt.txt beside it; Tesseract reads the same items when it is on the "
        "PATH. Scoring: NFC, typography folded (raw beside it), a page's lines joined with line-end hyphens "
        "removed, whitespace collapsed, CER/WER micro-averaged per folder.",
        epilog="Exit codes: 0 scored, 2 bad usage or a folder with nothing to score. Example: evaluate.py "
        "scans/book1 lines/ --omits-first-line 'book*' --report report.md --json results.json",
    )
    parser.add_argument("folders", nargs="+", type=Path, help="folders of images with X.gt.txt transcriptions")
    parser.add_argument("--mode", choices=("auto", "page", "line"), default="auto",
                        help="page: each image is a page; line: each image is one text line; auto (default): "
                        "line when every transcription is one line and the images are at most 200 px high")
    parser.add_argument("--omits-first-line", action="append", default=[], metavar="PATTERN",
                        help="folders (name glob, repeatable) whose transcriptions leave out the page's first "
                        "printed line (running head, page number): the OCR's first line is dropped before scoring")
    parser.add_argument("--no-tesseract", action="store_true", help="do not run tesseract even if it is installed")
    parser.add_argument("--tesseract-lang", default="eng", help="tesseract language (default: eng)")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                        help="model checkpoint directory (default: checkpoints/default)")
    parser.add_argument("--decoder", choices=tuple(DECODERS), default="greedy",
                        help="CTC decoding: greedy (default), beam, or words (beam search favouring English words)")
    parser.add_argument("--beam-width", type=int, default=8, help="beams for --decoder beam|words (default: 8)")
    parser.add_argument("--limit", type=int, help="score at most this many items per folder (a quick look)")
    parser.add_argument("--worst", type=int, default=10, help="worst lines listed per folder and engine (default: 10)")
    parser.add_argument("--report", type=Path, help="write the Markdown report here")
    parser.add_argument("--json", type=Path, help="write the full result (every item) as JSON here")
    parser.add_argument("--debug-dir", type=Path,
                        help="write each page's layout pictures (boxes drawn, binarized page, profiles) here, "
                        "one folder per input folder")
    add_backend_option(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Score the folders; the exit code is 0 when they were scored, 2 for bad usage or input."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from crnn.evaluation.folders import EvaluationError, find_items, guess_mode

    try:
        if args.beam_width < 1 or args.worst < 0 or (args.limit is not None and args.limit < 1):
            raise UsageError("--beam-width and --limit must be at least 1, --worst at least 0")
        if not (args.checkpoint / "model.keras").is_file():
            raise UsageError(f"no checkpoint at {args.checkpoint}")
        folders = []
        for folder in args.folders:
            try:
                found = find_items(folder)
            except EvaluationError as exc:
                raise UsageError(str(exc)) from None
            if args.limit:
                found = dataclasses.replace(found, items=found.items[: args.limit])
            folders.append(found)
        reader = open_reader(args.checkpoint, args.decoder, args.beam_width, args.backend)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    from crnn.evaluation.folders import FolderResult, evaluate_engine, format_results, result_as_dict
    from crnn.evaluation.tesseract import TesseractEngine, find_tesseract
    from crnn.io import image_size
    from crnn.pipeline.engine import ReaderEngine

    engines: list = [ReaderEngine(reader, debug_dir=args.debug_dir)]
    binary = None if args.no_tesseract else find_tesseract()
    if binary:
        engines.append(TesseractEngine(binary, args.tesseract_lang))
    else:
        print("note: no tesseract on the PATH (or --no-tesseract): our figures only", file=sys.stderr)

    def height(path: Path) -> int | None:
        size = image_size(path)
        return size[1] if size else None

    from tqdm import tqdm

    results = []
    started = time.perf_counter()
    for found in folders:
        mode = guess_mode(found.items, height) if args.mode == "auto" else args.mode
        omits = any(fnmatch.fnmatch(found.folder.name, pattern) for pattern in args.omits_first_line)
        engine_results = []
        for engine in engines:
            with tqdm(total=len(found.items), unit="item", file=sys.stderr,
                      desc=f"{found.folder.name} ({engine.name})") as bar:
                engine_results.append(evaluate_engine(engine, found, mode, omits, args.worst, progress=bar.update))
        results.append(FolderResult(found.folder.name, mode, omits, len(found.items), found.skipped,
                                    tuple(engine_results)))
    elapsed = time.perf_counter() - started

    header = [
        f"Command: `{shlex.join(['evaluate.py', *(argv if argv is not None else sys.argv[1:])])}`",
        f"Engines: {', '.join(e.name for e in engines)} (checkpoint {args.checkpoint}, decoder {args.decoder}); "
        f"tesseract runs one process per image with OMP_THREAD_LIMIT=1, psm 3 for pages and 7 for lines.",
        f"Machine: {platform.machine()}, {os.cpu_count()} CPU(s), Python {platform.python_version()}; "
        f"{time.strftime('%Y-%m-%d %H:%M')}; {elapsed:.0f} s in all.",
        "s/item: ours inside one process with the model loaded; tesseract per process, start-up included.",
    ]
    report = format_results(results, header)
    summary_end = report.index("\n## ") if "\n## " in report else len(report)
    print(report[:summary_end].rstrip())
    from crnn.io import atomic_write_text

    if args.report:
        args.report.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(args.report, report)
        print(f"report: {args.report}", file=sys.stderr)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        payload = {"header": header, "engines": [e.name for e in engines],
                   "folders": [result_as_dict(r) for r in results]}
        atomic_write_text(args.json, json.dumps(payload, indent=1, ensure_ascii=False) + "\n")
        print(f"json: {args.json}", file=sys.stderr)
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
