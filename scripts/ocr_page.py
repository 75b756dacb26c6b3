#!/usr/bin/env python
"""Read the text of printed book pages: python scripts/ocr_page.py IMG [IMG ...]."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

DEFAULT_CHECKPOINT = Path(__file__).resolve().parent.parent / "checkpoints" / "default"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ocr_page.py",
        description="OCR photographed or scanned printed book pages with the committed CRNN model.",
    )
    parser.add_argument("images", nargs="*", type=Path, help="page images or directories of them")
    parser.add_argument("--demo", action="store_true", help="OCR a sample page the project renders itself")
    parser.add_argument(
        "--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="model checkpoint directory"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not (args.checkpoint / "model.keras").is_file():
        print(
            f"error: no checkpoint yet at {args.checkpoint}: train one with `make synth train`",
            file=sys.stderr,
        )
        return 2
    if not args.images and not args.demo:
        print("error: give page images, or --demo", file=sys.stderr)
        return 2
    print("error: page OCR is not implemented yet", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
