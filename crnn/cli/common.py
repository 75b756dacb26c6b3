"""What the command lines share: the project's folders and the one-line usage error."""

from __future__ import annotations

import argparse
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from crnn.pipeline import PageReader

ROOT = Path(__file__).resolve().parents[2]
SHARED_DIR = ROOT.parent / "shared"  # the reference page and the real-page development set, outside the project
REFERENCE_DIR = SHARED_DIR / "reference"


def exit_promptly(code: int) -> NoReturn:
    """End a finished command with ``code`` once standard output and error are flushed, skipping the
    interpreter's teardown.

    Freeing every module, the ONNX Runtime session and its threads takes a one-page run a noticeable
    share of its time and does nothing a finished command needs: what it wrote is already closed.
    Only for a command line's own process, after ``main`` has returned; never inside a library call.
    """
    import contextlib
    import sys

    for stream in (sys.stdout, sys.stderr):
        with contextlib.suppress(OSError, ValueError):  # a closed or broken pipe: nothing more can reach it
            stream.flush()
    os._exit(code)


class UsageError(Exception):
    """Bad arguments or input: reported in one line, exit code 2."""


def config_parser(prog: str, description: str, config: str) -> argparse.ArgumentParser:
    """A parser with the ``--config`` option every configured command has (default ``configs/<config>``)."""
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--config", type=Path, default=ROOT / "configs" / config, help="YAML config")
    return parser


# --backend choices: "auto" and the names of crnn.recognize.backends.BACKENDS (not imported: it loads numpy)
BACKEND_CHOICES = ("auto", "onnx", "keras")


def check_writable_folder(option: str, folder: Path) -> None:
    """Make sure ``folder`` (given as ``option``) is a folder this process can write, creating it if
    needed; ``UsageError`` saying why not, before any page is read."""
    if folder.exists() and not folder.is_dir():
        raise UsageError(f"{option} {folder} is a file, not a folder")
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"{option} {folder} cannot be created: {exc.strerror or exc}") from None
    if not os.access(folder, os.W_OK | os.X_OK):
        raise UsageError(f"{option} {folder} is not writable")


def add_backend_option(parser: argparse.ArgumentParser) -> None:
    """The ``--backend`` option of every command that reads pages."""
    parser.add_argument("--backend", choices=BACKEND_CHOICES, default="auto",
                        help="what runs the model: onnx (ONNX Runtime, no TensorFlow), keras, or auto (default): "
                        "onnx when the checkpoint has a model.onnx, else keras")


def open_reader(checkpoint: Path, decoder: str, beam_width: int, backend: str = "auto") -> PageReader:
    """A page reader for the checkpoint; an unreadable checkpoint is a :class:`UsageError`."""
    from crnn.pipeline import PageReader
    from crnn.recognize import CheckpointError
    from crnn.recognize.lexicon import WordListError

    try:
        return PageReader(checkpoint, decoder=decoder, beam_width=beam_width, backend=backend)
    except (CheckpointError, WordListError) as exc:
        raise UsageError(str(exc)) from None


def run_training_command(start: Callable[[], dict], run_dir: Path, validation: str, export: bool) -> int:
    """Run a training function (``start`` loads its config and trains, returning the best checkpoint's
    metadata), report the best checkpoint, and export it to ONNX when ``export``.

    Returns the exit code: 0, 1 when the export failed, 2 for a bad config or data, 130 when interrupted.
    """
    import sys

    from crnn.config import ConfigError
    from crnn.training import TrainingError

    try:
        best = start()
    except (ConfigError, TrainingError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"interrupted; continue with --resume --run-dir {run_dir}", file=sys.stderr)
        return 130
    metrics = best["metrics"]
    print(f"best {validation} CER {100 * metrics['val_cer']:.2f}% (exact lines {100 * metrics['val_exact']:.1f}%) "
          f"at step {metrics['step']}; checkpoint: {run_dir / 'best'}")
    return 1 if export and export_trained(run_dir / "best") else 0


def export_trained(checkpoint: Path) -> int:
    """Export a freshly trained checkpoint to ONNX (a trained model never ships without its twin, checked
    against it); prints the outcome, returns the exit code: 0, or 1 when the export failed or was refused."""
    import sys

    from crnn.export import ExportError, export_onnx

    try:
        print(export_onnx(checkpoint).summary())
    except ExportError as exc:
        print(f"error: {exc}; the checkpoint has no model.onnx (retry with `make export CHECKPOINT={checkpoint}`)",
              file=sys.stderr)
        return 1
    return 0
