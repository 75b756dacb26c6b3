"""What the command lines share: the project's folders and the one-line usage error."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from crnn.pipeline import PageReader

ROOT = Path(__file__).resolve().parents[2]
SHARED_DIR = ROOT.parent / "shared"  # the reference page and the real-page development set, outside the project
REFERENCE_DIR = SHARED_DIR / "reference"


class UsageError(Exception):
    """Bad arguments or input: reported in one line, exit code 2."""


def config_parser(prog: str, description: str, config: str) -> argparse.ArgumentParser:
    """A parser with the ``--config`` option every configured command has (default ``configs/<config>``)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / config, help="YAML config")
    return parser


def open_reader(checkpoint: Path, decoder: str, beam_width: int) -> PageReader:
    """A page reader for the checkpoint; an unreadable checkpoint is a :class:`UsageError`."""
    from crnn.pipeline import PageReader
    from crnn.recognize import CheckpointError

    try:
        return PageReader(checkpoint, decoder=decoder, beam_width=beam_width)
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None
