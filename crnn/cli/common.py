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


# --backend choices: "auto" and the names of crnn.recognize.backends.BACKENDS (not imported: it loads numpy)
BACKEND_CHOICES = ("auto", "onnx", "keras")


def add_backend_option(parser: argparse.ArgumentParser) -> None:
    """The ``--backend`` option of every command that reads pages."""
    parser.add_argument("--backend", choices=BACKEND_CHOICES, default="auto",
                        help="what runs the model: onnx (ONNX Runtime, no TensorFlow), keras, or auto (default): "
                        "onnx when the checkpoint has a model.onnx, else keras")


def open_reader(checkpoint: Path, decoder: str, beam_width: int, backend: str = "auto") -> PageReader:
    """A page reader for the checkpoint; an unreadable checkpoint is a :class:`UsageError`."""
    from crnn.pipeline import PageReader
    from crnn.recognize import CheckpointError

    try:
        return PageReader(checkpoint, decoder=decoder, beam_width=beam_width, backend=backend)
    except CheckpointError as exc:
        raise UsageError(str(exc)) from None
