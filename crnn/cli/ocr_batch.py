"""Read many documents into a mirrored tree of outputs: ``ocr_batch.py IN... -o OUT`` (also ``crnn-batch``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from crnn.cli.common import UsageError, add_backend_option, check_writable_folder
from crnn.formats import FORMATS
from crnn.io import DEFAULT_DPI
from crnn.recognize import DECODERS, DEFAULT_CHECKPOINT


def build_parser() -> argparse.ArgumentParser:
    """The command line of `ocr_batch.py`."""
    parser = argparse.ArgumentParser(
        prog="ocr_batch.py",
        description="OCR a batch of page images and PDFs (folder trees, list files, single files) into a mirrored "
        "tree of outputs under --output-dir, one file per document and format, plus manifest.jsonl (one record "
        "per document: input hash, pages, seconds, confidence, error). Resumable: a document whose outputs "
        "exist for an input of the same SHA-256 is skipped, so run the same command again after an interruption. "
        "A page that fails is recorded and the batch goes on.",
        epilog="Exit codes: 0 every document read (or already done), 1 some failed (see the manifest), 2 bad usage, "
        "130 interrupted (run again to resume). Examples: ocr_batch.py scans/ -o out/ --format txt --format pdf | "
        "ocr_batch.py books.txt -o out/ --workers 2 | ocr_batch.py shelf/ -o /shared/out --ray --ray-address auto",
    )
    parser.add_argument("inputs", nargs="+", type=Path,
                        help="folders (searched recursively for images and PDFs), PDFs, images, or list files "
                        "(.txt/.lst: one path per line, relative to the list's folder)")
    parser.add_argument("-o", "--output-dir", type=Path, required=True, help="where the output tree is written")
    parser.add_argument("--format", action="append", choices=tuple(FORMATS), dest="formats",
                        help="output format, repeatable (default: txt): "
                        + "; ".join(f"{f.name}: {f.description}" for f in FORMATS.values()))
    parser.add_argument("--workers", type=int, default=0,
                        help="parallel workers, each with the model loaded once (default: one per core; "
                        "with --ray: one per CPU of the cluster)")
    parser.add_argument("--ray", action="store_true",
                        help="run on Ray (pip install '.[ray]'): a local Ray on this machine's cores, or the "
                        "cluster at --ray-address; workers read inputs from the paths given, so on a cluster "
                        "the inputs must be on storage every node sees; outputs are written here, by this process")
    parser.add_argument("--ray-address", metavar="ADDRESS",
                        help="an existing Ray cluster (e.g. auto, or ray://head:10001); implies --ray")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT,
                        help="model checkpoint directory (default: checkpoints/default)")
    parser.add_argument("--decoder", choices=tuple(DECODERS), default="greedy",
                        help="CTC decoding: greedy (default), beam, or words (beam search favouring English words)")
    parser.add_argument("--beam-width", type=int, default=8, help="beams for --decoder beam|words (default: 8)")
    parser.add_argument("--pdf-dpi", type=float, default=DEFAULT_DPI,
                        help=f"resolution for PDF pages that are not scans (default: {DEFAULT_DPI:.0f})")
    parser.add_argument("--low-confidence", type=float, default=0.5,
                        help="flag lines and words below this confidence in json/hocr (default: 0.5)")
    parser.add_argument("--single-line", action="store_true", help="each image is one text line (no layout)")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    add_backend_option(parser)
    return parser


def check_arguments(args: argparse.Namespace) -> None:
    """Refuse bad options before anything is read (``UsageError``)."""
    if args.workers < 0:
        raise UsageError("--workers must be 0 (one per core) or more")
    if args.beam_width < 1:
        raise UsageError("--beam-width must be at least 1")
    if not 0.0 <= args.low_confidence <= 1.0:
        raise UsageError(f"--low-confidence must be between 0 and 1, got {args.low_confidence}")
    if not 10 <= args.pdf_dpi <= 1200:
        raise UsageError(f"--pdf-dpi must be between 10 and 1200, got {args.pdf_dpi}")
    if not (args.checkpoint / "model.keras").is_file():
        raise UsageError(f"no checkpoint at {args.checkpoint}")
    check_writable_folder("--output-dir", args.output_dir)
    if args.ray or args.ray_address:
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise UsageError("--ray needs Ray: pip install 'crnn-book-ocr[ray]' (make install includes it)")


def main(argv: list[str] | None = None) -> int:
    """Run the batch; the exit code is 0 when every document was read, 1 when some failed, 2 for bad usage."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from crnn.batch import (
        BatchInputError,
        ReaderSettings,
        available_cores,
        count_pages,
        find_jobs,
        make_executor,
        output_paths,
        run_batch,
    )

    try:
        check_arguments(args)
        jobs = find_jobs(args.inputs, exclude=args.output_dir)
        formats = list(dict.fromkeys(args.formats or ["txt"]))
        inputs = {job.path.resolve() for job in jobs}
        for job in jobs:
            for path in output_paths(job, args.output_dir, formats):
                if path.resolve() in inputs:
                    raise UsageError(f"the output {path} would overwrite an input: choose another --output-dir")
    except (UsageError, BatchInputError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    on_ray = bool(args.ray or args.ray_address)
    workers = args.workers or (0 if on_ray else available_cores())
    if not on_ray and not args.workers and len(jobs) < workers:
        # a process started for no page costs its start-up and a model's memory
        workers = min(workers, sum(count_pages(job) for job in jobs))
    settings = ReaderSettings(args.checkpoint, args.backend, args.decoder, args.beam_width, args.pdf_dpi,
                              args.single_line)
    from crnn.recognize import CheckpointError, make_decoder
    from crnn.recognize.lexicon import WordListError

    try:
        make_decoder(args.decoder, beam_width=args.beam_width)  # a missing word list: one line here, not per worker
        executor = make_executor("ray" if on_ray else "local", settings, workers, args.ray_address)
    except (CheckpointError, WordListError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if args.no_progress:
            return
        if bar is None:
            from tqdm import tqdm

            bar = tqdm(total=total, unit="page", file=sys.stderr, dynamic_ncols=True)
        bar.n = done
        bar.refresh()

    where = f"Ray ({executor.workers} workers)" if on_ray else f"{executor.workers} local worker(s)"
    print(f"{len(jobs)} document(s) -> {args.output_dir} ({', '.join(formats)}) on {where}", file=sys.stderr)
    try:
        summary = run_batch(jobs, args.output_dir, formats, executor, args.low_confidence, args.pdf_dpi, progress)
    except KeyboardInterrupt:
        if bar is not None:
            bar.close()
        print("interrupted: the documents finished so far are kept; run the same command again to resume",
              file=sys.stderr)
        return 130
    finally:
        executor.close()
    if bar is not None:
        bar.close()
    for failure in summary.failures:
        print(f"error: {failure}", file=sys.stderr)
    rate = summary.pages_read / summary.seconds if summary.seconds else 0.0
    print(f"{summary.read} read, {summary.skipped} already done, {summary.failed} failed; {summary.pages_read} "
          f"page(s) in {summary.seconds:.1f} s ({rate:.2f} pages/s); manifest: "
          f"{args.output_dir / 'manifest.jsonl'}", file=sys.stderr)
    return 0 if summary.ok else 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
