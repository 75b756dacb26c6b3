"""Cut training line pairs from transcribed pages: read each page, pair its lines with the transcription's."""

from __future__ import annotations

import argparse
import fnmatch
import json
import sys
from pathlib import Path

from crnn.cli.common import UsageError, add_backend_option, open_reader


def build_parser() -> argparse.ArgumentParser:
    """The command line of `cut_line_pairs.py`."""
    from crnn.recognize import DEFAULT_CHECKPOINT

    parser = argparse.ArgumentParser(
        prog="cut_line_pairs.py",
        description="For every page image with X.gt.txt beside it in DIR..., run the layout and the recognizer, "
        "pair the lines it cut with the transcription's lines where the pairing is unambiguous (close text, "
        "clearly closer than the neighbours, no line-end hyphenation the transcription may have rejoined) and "
        "write each pair to OUT as <folder>_<page>_<line>.png (the crop the model reads) + .gt.txt (the "
        "transcription's text). OUT/pairs.json lists every pair with its reading and CER. The result is a folder "
        "for `make finetune`.",
        epilog="Exit codes: 0 done, 2 bad input.",
    )
    parser.add_argument("folders", nargs="+", type=Path, help="folders of page images with X.gt.txt transcriptions")
    parser.add_argument("--out", type=Path, required=True, help="output folder of line pairs")
    parser.add_argument("--omits-first-line", metavar="GLOB", default="",
                        help="folders (name glob) whose transcriptions leave out the first printed line")
    parser.add_argument("--max-cer", type=float, default=0.25,
                        help="largest CER of the reading against its transcription line (default: 0.25)")
    parser.add_argument("--checkpoint", type=Path, default=DEFAULT_CHECKPOINT, help="model checkpoint")
    add_backend_option(parser)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Cut the pairs; 0 when done, 2 for bad input."""
    args = build_parser().parse_args(argv)
    from tqdm import tqdm

    from crnn.data import write_line_pair
    from crnn.evaluation.alignment import pair_lines
    from crnn.evaluation.folders import EvaluationError, find_items
    from crnn.io import ImageError

    try:
        folders = [(folder, find_items(folder)) for folder in args.folders]
        reader = open_reader(args.checkpoint, "greedy", 8, args.backend)
        args.out.mkdir(parents=True, exist_ok=True)
    except (EvaluationError, UsageError, OSError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    listing = []
    for folder, found in folders:
        omits = bool(args.omits_first_line) and fnmatch.fnmatch(folder.name, args.omits_first_line)
        for item in tqdm(found.items, desc=folder.name, unit="page", file=sys.stderr):
            try:
                result = reader.read(item.image, source=str(item.image))
            except ImageError as exc:
                print(f"error: {exc}", file=sys.stderr)
                continue
            texts = [line.text for line in result.page.lines]
            for pairing in pair_lines(texts, list(item.reference), omits, args.max_cer):
                stem = f"{folder.name}_{item.image.stem}_{pairing.read_index:03d}"
                write_line_pair(args.out, stem, result.crop_of(pairing.read_index), pairing.truth)
                listing.append({"pair": stem, "page": str(item.image), "truth": pairing.truth,
                                "read": texts[pairing.read_index], "cer": round(pairing.cer, 4)})
    (args.out / "pairs.json").write_text(json.dumps(listing, indent=1, ensure_ascii=False), encoding="utf-8")
    pages = sum(len(found.items) for _, found in folders)
    print(f"{len(listing)} line pairs from {pages} pages written to {args.out}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
