"""Serve the OCR web app: upload a page, see and correct its lines (also ``crnn-serve``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from crnn.cli.common import ROOT, add_backend_option
from crnn.recognize import DEFAULT_CHECKPOINT


def non_negative_mb(text: str) -> float:
    """An argparse type: a size in MB, zero or more."""
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"must be a finite size of zero or more MB, not {text!r}")
    return value


def build_parser() -> argparse.ArgumentParser:
    """The command line of `serve.py`."""
    parser = argparse.ArgumentParser(prog="serve.py", description="Start the OCR web app (FastAPI + uvicorn).")
    parser.add_argument("--host", default="127.0.0.1", help="interface to listen on (default: 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8000, help="port (default: 8000)")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="model checkpoint")
    parser.add_argument("--corrections-dir", type=Path, default=ROOT / "corrections",
                        help="where corrected lines are stored (PNG + .gt.txt + .json)")
    parser.add_argument("--allowed-host", action="append", default=[], metavar="NAME",
                        help="a host name the app answers to besides 127.0.0.1, localhost and the --host address "
                        "(repeatable; requests naming any other host are refused)")
    parser.add_argument("--page-memory-mb", type=non_negative_mb, default=64, metavar="MB",
                        help="memory for pages kept to be corrected, MB (default: 64); older pages wait on disk")
    parser.add_argument("--workers", type=positive_count, default=None, metavar="N",
                        help="processes that read uploads, each with its own model on one core (default: one per "
                        "core, at most 4); 1 reads them in threads of the server's own process, which uses "
                        "less memory")
    add_backend_option(parser)
    return parser


def positive_count(text: str) -> int:
    """An argparse type: a whole number of at least 1."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, not {value}")
    return value


def main(argv: list[str] | None = None) -> int:
    """Serve the web app until interrupted (130 when that cut requests short); 2 for a checkpoint it cannot load."""
    args = build_parser().parse_args(argv)
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    from crnn.recognize import CheckpointError

    try:
        from crnn.web.app import LOCAL_HOSTS, create_app
        from crnn.web.workers import default_processes

        hosts = (*LOCAL_HOSTS, *([args.host] if args.host not in ("0.0.0.0", "::") else []), *args.allowed_host)
        app = create_app(args.checkpoint, args.corrections_dir, allowed_hosts=hosts, backend=args.backend,
                         max_memory_bytes=int(args.page_memory_mb * 1024 * 1024),
                         workers=args.workers or default_processes())
    except CheckpointError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    from crnn.web.server import serve

    try:
        serve(app, args.host, args.port)
    except KeyboardInterrupt:  # Ctrl-C while pages were being read: uvicorn has already shut down
        return 130
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
