"""Read the text of printed book pages: ``ocr_page.py IMG [IMG|DIR ...]`` (also ``crnn-ocr``)."""

from __future__ import annotations

import argparse
import io
import os
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from crnn.cli.common import (
    REFERENCE_DIR,
    UsageError,
    add_backend_option,
    check_writable_folder,
    exit_promptly,
    open_reader,
)
from crnn.formats import FORMATS
from crnn.io import DEFAULT_DPI, ImageError, collect_images
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
    parser.add_argument("images", nargs="*", type=Path,
                        help="page images or PDFs (every page is read), or directories of them")
    parser.add_argument("--format", choices=tuple(FORMATS), default="txt",
                        help="output format: " + "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values())
                        + " (default: txt)")
    parser.add_argument("--decoder", choices=tuple(DECODERS), default="greedy",
                        help="CTC decoding: greedy best path (default), beam: prefix beam search, or words: "
                             "beam search that favours words of an English word list (wordfreq's 100,000 "
                             "most frequent; usually a little more accurate on English, several times slower)")
    parser.add_argument("--beam-width", type=int, default=8, help="beams for --decoder beam|words (default: 8)")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                        help="model checkpoint directory (default: checkpoints/default)")
    parser.add_argument("--reference", type=Path,
                        help="ground-truth transcription (one line per text line): print CER/WER and wrong lines")
    parser.add_argument("--report", type=Path, help="with --reference: also write the Markdown report here")
    parser.add_argument("--debug-dir", type=Path, help="write line boxes, binarized page and profiles here")
    parser.add_argument("--output-dir", type=Path, help="write one output file per image here")
    parser.add_argument("--low-confidence", type=float, default=0.5,
                        help="flag lines and words below this confidence in json/hocr (default: 0.5)")
    parser.add_argument("--pdf-dpi", type=float, default=DEFAULT_DPI,
                        help="resolution for PDF pages that are not scans (a scan is read at its own resolution; "
                        f"default: {DEFAULT_DPI:.0f})")
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


def check_output_paths(args: argparse.Namespace) -> None:
    """Refuse, before any page is read, output places that cannot be written (``UsageError``)."""
    for option, folder in (("--output-dir", args.output_dir), ("--debug-dir", args.debug_dir)):
        if folder is not None:
            check_writable_folder(option, folder)
    if args.report is not None:
        if args.report.is_dir():
            raise UsageError(f"--report {args.report} is a folder")
        parent = args.report.parent
        if args.report.exists() and not os.access(args.report, os.W_OK):
            raise UsageError(f"--report {args.report} is not writable")
        try:
            parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise UsageError(f"--report {args.report}: its folder cannot be created: {exc.strerror or exc}") \
                from None
        if not os.access(parent, os.W_OK | os.X_OK):
            raise UsageError(f"--report {args.report}: its folder is not writable")


def output_names(images: list[Path], extension: str) -> dict[Path, str]:
    """The output file name of each image: its stem plus ``extension``, or, where two inputs share a
    stem (``page.jpg`` and ``page.png``), its whole name plus ``extension``, so that neither
    overwrites the other, whatever the order they come in."""
    stems: dict[str, int] = {}
    for image in images:
        stems[image.stem] = stems.get(image.stem, 0) + 1
    return {image: (image.stem if stems[image.stem] == 1 else image.name) + extension for image in images}


def main(argv: list[str] | None = None) -> int:
    """Read pages; the exit code is 0 when all were read, 1 when some failed, 2 for bad usage or input."""
    try:
        return _main(argv)
    except BrokenPipeError:
        # the reader of our output went away (`| head`): stop quietly, as command-line tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def run() -> None:
    """The ``crnn-ocr`` command: :func:`main` on ``sys.argv``, then a prompt exit with its code."""
    exit_promptly(main())


def _main(argv: list[str] | None) -> int:
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        if not args.images and not args.demo:
            raise UsageError("give one or more page images (or directories), or --demo; see --help")
        if args.beam_width < 1:
            raise UsageError("--beam-width must be at least 1")
        if not 0.0 <= args.low_confidence <= 1.0:  # also refuses nan
            raise UsageError(f"--low-confidence must be between 0 and 1, got {args.low_confidence}")
        if not (args.checkpoint / "model.keras").is_file():
            raise UsageError(f"no checkpoint yet at {args.checkpoint}: train one with `make synth train`")
        missing: list[str] = []
        images = collect_images(args.images, missing)
        if missing and not images:
            raise UsageError("; ".join(missing))
        reference = read_reference(args.reference) if args.reference else None
        if reference is not None and len(images) != 1:
            raise UsageError("--reference needs exactly one image")
        if len(images) > 1 and args.output_dir is None and args.format != "txt":
            raise UsageError(f"{len(images)} images: give --output-dir for --format {args.format}")
        if FORMATS[args.format].page_renderer is None and args.output_dir is None and sys.stdout.isatty():
            raise UsageError(f"--format {args.format} is binary: give --output-dir, or redirect the output to a file")
        if not 10 <= args.pdf_dpi <= 1200:  # also refuses nan
            raise UsageError(f"--pdf-dpi must be between 10 and 1200, got {args.pdf_dpi}")
        check_output_paths(args)

        reader = open_reader(args.checkpoint, args.decoder, args.beam_width, args.backend)
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2

    if args.demo:
        return run_demo(reader)
    for reason in missing:  # the batch goes on without them, and says so in its exit code
        print(f"error: {reason}", file=sys.stderr)
    return ocr_images(reader, images, reference, args, failed_before=len(missing))


def ocr_images(reader: PageReader, images: list[Path], reference: list[str] | None, args: argparse.Namespace,
               failed_before: int = 0) -> int:
    """Read each image or PDF, write its output, report failures in one line each; returns the exit
    code (``failed_before``: inputs already reported as failed, which make it 1)."""
    from crnn.io import frame_count, page_count

    failures = 0
    names = output_names(images, FORMATS[args.format].extension)
    counts: dict[Path, int] = {}
    for image in images:
        try:
            counts[image] = page_count(image)
        except ImageError:
            counts[image] = 1  # reported when it is read
    total_pages = sum(counts.values())
    if total_pages > 1:
        from tqdm import tqdm  # a bar for a batch; a single page starts faster without it

        progress = tqdm(total=total_pages, unit="page", file=sys.stderr)
        say = progress.write
    else:
        progress, say = None, print
    try:
        for image in images:
            frames = frame_count(image)
            if frames > 1 and counts[image] == 1:  # an animation (a TIFF's pages are each read)
                say(f"warning: {image} holds {frames} images (frames); only the first is read",
                    file=sys.stderr)
            try:
                started = time.perf_counter()
                output, lines = ocr_document(reader, image, args, say, progress)
                elapsed = time.perf_counter() - started
            except ImageError as exc:
                say(f"error: {exc}", file=sys.stderr)
                failures += 1
                continue
            if not write_output(output, image, names[image], len(images), args, say):
                failures += 1
                continue
            if reference is not None:
                report = evaluate(lines, reference, f"{image.name}", elapsed)
                print(report, file=sys.stderr)
                if args.report:
                    args.report.parent.mkdir(parents=True, exist_ok=True)
                    args.report.write_text(report, encoding="utf-8")
    finally:
        if progress is not None:
            progress.close()
    total_failures, total = failures + failed_before, len(images) + failed_before
    if total_failures:
        print(f"{total_failures} of {total} input(s) failed", file=sys.stderr)
        return 1 if total_failures < total else 2
    return 0


def ocr_document(reader: PageReader, image: Path, args: argparse.Namespace, say, progress) -> tuple[bytes, list[str]]:
    """The output of one input in ``args.format`` (every page of a PDF), and the text lines read."""
    from crnn.formats import write_document
    from crnn.layout import save_debug

    lines: list[str] = []

    def rasters():
        for result, raster in reader.read_document(image, dpi=args.pdf_dpi, single_line=args.single_line,
                                                   keep_image=FORMATS[args.format].needs_image):
            if args.debug_dir:
                save_debug(result.layout, args.debug_dir,
                           image.stem + (f"-p{raster.number}" if raster.number else ""), result.page)
            if not result.page.lines:
                say(f"warning: no text lines found in {raster.page.source}", file=sys.stderr)
            lines.extend(line.text for line in result.page.lines)
            if progress is not None:
                progress.update(1)
            yield raster

    out = io.BytesIO()
    write_document(out, rasters(), args.format, args.low_confidence, title=str(image))
    return out.getvalue(), lines


def write_output(output: bytes, image: Path, name: str, inputs: int, args: argparse.Namespace, say) -> bool:
    """Write one input's output to ``--output-dir`` (atomically) or standard output; False if it failed."""
    from crnn.io import atomic_write_bytes

    if args.output_dir:
        try:
            atomic_write_bytes(args.output_dir / name, output)
        except OSError as exc:
            say(f"error: cannot write {args.output_dir / name}: {exc.strerror or exc}", file=sys.stderr)
            return False
        return True
    if FORMATS[args.format].page_renderer is None:
        sys.stdout.buffer.write(output)
        sys.stdout.flush()
        return True
    if inputs > 1:
        sys.stdout.write(f"==> {image} <==\n")
    sys.stdout.write(output.decode("utf-8"))
    sys.stdout.flush()
    return True


if __name__ == "__main__":  # pragma: no cover
    run()
