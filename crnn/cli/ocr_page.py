"""Read the text of printed book pages: ``ocr_page.py IMG [IMG|DIR ...]`` (also ``crnn-ocr``)."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from crnn.cli.common import REFERENCE_DIR, UsageError, add_backend_option, open_reader
from crnn.formats import FORMATS
from crnn.io import ImageError, collect_images
from crnn.recognize import DECODERS, DEFAULT_CHECKPOINT

if TYPE_CHECKING:
    from crnn.pipeline import PageReader

DEMO_SEED = 2026


def build_parser() -> argparse.ArgumentParser:
    """The command line of `ocr_page.py`; its format and decoder choices come from the registries."""
    parser = argparse.ArgumentParser(
        prog="ocr_page.py",
        description="OCR photographed or scanned printed book pages: layout analysis (deskew, two-page split, "
        "illustration removal, projection-profile lines) and a CNN+BiLSTM+CTC line recognizer.",
        epilog="Exit codes: 0 all pages read, 1 some pages failed (the others were still read), 2 bad usage "
        "or input. Examples: ocr_page.py page.jpg | ocr_page.py scans/ --format alto --output-dir out/ | "
        "ocr_page.py page.jpg --reference page.gt.txt",
    )
    parser.add_argument("images", nargs="*", type=Path, help="page images, or directories of them")
    parser.add_argument("--format", choices=tuple(FORMATS), default="txt",
                        help="output format: " + "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values())
                        + " (default: txt)")
    parser.add_argument("--decoder", choices=tuple(DECODERS), default="greedy",
                        help="CTC decoding: greedy best path (default) or beam, prefix beam search")
    parser.add_argument("--beam-width", type=int, default=8, help="beams for --decoder beam (default: 8)")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                        help="model checkpoint directory (default: checkpoints/default)")
    parser.add_argument("--reference", type=Path,
                        help="ground-truth transcription (one line per text line): print CER/WER and wrong lines")
    parser.add_argument("--report", type=Path, help="with --reference: also write the Markdown report here")
    parser.add_argument("--debug-dir", type=Path, help="write line boxes, binarized page and profiles here")
    parser.add_argument("--output-dir", type=Path, help="write one output file per image here")
    parser.add_argument("--low-confidence", type=float, default=0.5,
                        help="flag lines and words below this confidence in json/hocr (default: 0.5)")
    parser.add_argument("--single-line", action="store_true",
                        help="each image is one text line (a line crop): no layout, like tesseract --psm 7")
    parser.add_argument("--demo", action="store_true",
                        help="OCR a sample page the project renders itself, then the reference page if present")
    add_backend_option(parser)
    return parser


def read_reference(path: Path) -> list[str]:
    """The non-empty lines of a transcription file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise UsageError(f"reference file not found: {path}") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read reference {path}: {exc}") from None
    return [line for line in text.splitlines() if line.strip()]


def evaluate(lines: list[str], reference: list[str], title: str, seconds: float | None = None) -> str:
    """The Markdown report of a page read against its transcription."""
    from crnn.evaluation.metrics import format_report, score_page

    report = format_report(score_page(reference, lines), title)
    if seconds is not None:
        report = report.replace("\n\n", f"\n\nTime: {seconds:.2f} s for the page (model loaded).\n\n", 1)
    return report


def run_demo(reader: PageReader) -> int:
    """A synthetic two-page spread with an illustration (fixed seed), then the reference page if present."""
    import tempfile

    import cv2

    from crnn.evaluation.metrics import score_page
    from crnn.synth.pages import PageGenerator

    generated = PageGenerator(DEMO_SEED).generate(two_pages=True, min_illustrations=1)
    sample = Path(tempfile.gettempdir()) / "crnn-demo-page.png"
    cv2.imwrite(str(sample), generated.image)
    started = time.perf_counter()
    result = reader.read(generated.image, source=str(sample))
    elapsed = time.perf_counter() - started
    text_lines = [line.text for line in result.page.lines]
    print(f"== demo page (rendered by crnn.synth.pages, seed {DEMO_SEED}; saved to {sample}) ==")
    print("\n".join(text_lines))
    score = score_page([t.text for t in generated.lines], text_lines)
    print(f"-- {len(text_lines)} lines (truth: {len(generated.lines)}), CER {100 * score.cer:.2f}%, "
          f"WER {100 * score.wer:.2f}%, {elapsed:.2f} s")
    image = REFERENCE_DIR / "20000-leagues-006.jpg"
    truth = REFERENCE_DIR / "20000-leagues-006.gt.txt"
    if image.is_file() and truth.is_file():
        started = time.perf_counter()
        result = reader.read(image, source=str(image))
        elapsed = time.perf_counter() - started
        lines = [line.text for line in result.page.lines]
        print(f"\n== reference page {image} ==")
        print("\n".join(lines))
        print(evaluate(lines, read_reference(truth), "reference page", elapsed))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Read pages; the exit code is 0 when all were read, 1 when some failed, 2 for bad usage or input."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if not args.images and not args.demo:
            raise UsageError("give one or more page images (or directories), or --demo; see --help")
        if args.beam_width < 1:
            raise UsageError("--beam-width must be at least 1")
        if not (args.checkpoint / "model.keras").is_file():
            raise UsageError(f"no checkpoint yet at {args.checkpoint}: train one with `make synth train`")
        try:
            images = collect_images(args.images)
        except ImageError as exc:
            raise UsageError(str(exc)) from None
        reference = read_reference(args.reference) if args.reference else None
        if reference is not None and len(images) != 1:
            raise UsageError("--reference needs exactly one image")
        if len(images) > 1 and args.output_dir is None and args.format != "txt":
            raise UsageError(f"{len(images)} images: give --output-dir for --format {args.format}")

        reader = open_reader(args.checkpoint, args.decoder, args.beam_width, args.backend)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.demo:
        return run_demo(reader)
    return ocr_images(reader, images, reference, args)


def ocr_images(reader: PageReader, images: list[Path], reference: list[str] | None, args: argparse.Namespace) -> int:
    """Read each image, write its output, report failures in one line each; returns the exit code."""
    from crnn.formats import render
    from crnn.layout import save_debug

    failures = 0
    if args.output_dir:
        args.output_dir.mkdir(parents=True, exist_ok=True)
    if len(images) > 1:
        from tqdm import tqdm  # a bar for a batch; a single page starts faster without it

        progress = tqdm(images, unit="page", file=sys.stderr)
        say = progress.write
    else:
        progress, say = images, print
    for image in progress:
        try:
            started = time.perf_counter()
            result = reader.read(image, source=str(image), single_line=args.single_line)
            elapsed = time.perf_counter() - started
        except ImageError as exc:
            say(f"error: {exc}", file=sys.stderr)
            failures += 1
            continue
        output = render(result.page, args.format, args.low_confidence)
        if args.output_dir:
            (args.output_dir / (image.stem + FORMATS[args.format].extension)).write_text(output, encoding="utf-8")
        else:
            if len(images) > 1:
                sys.stdout.write(f"==> {image} <==\n")
            sys.stdout.write(output)
            sys.stdout.flush()
        if args.debug_dir:
            save_debug(result.layout, args.debug_dir, image.stem, result.page)
        if reference is not None:
            report = evaluate([line.text for line in result.page.lines], reference, f"{image.name}", elapsed)
            print(report, file=sys.stderr)
            if args.report:
                args.report.parent.mkdir(parents=True, exist_ok=True)
                args.report.write_text(report, encoding="utf-8")
        if not result.page.lines:
            say(f"warning: no text lines found in {image}", file=sys.stderr)
    if failures:
        print(f"{failures} of {len(images)} page(s) failed", file=sys.stderr)
        return 1 if failures < len(images) else 2
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
