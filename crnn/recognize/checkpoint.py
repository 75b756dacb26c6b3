"""Checkpoints: a directory with the model and everything needed to use or reproduce it.

    model.keras     the recognizer (Keras 3 format, loads with safe_mode=True)
    model.onnx      optional: the same model exported for ONNX Runtime (``crnn.recognize.export``),
                    which reads pages without TensorFlow or Keras
    charset.json    the alphabet (crnn.charset.Charset), blank at index 0
    config.json     the resolved training config (model architecture included) and line geometry
    metadata.json   seed, data description, metrics, git commit, machine, parameter count

Reading a checkpoint's description (:func:`read_checkpoint`) needs no deep-learning
framework; a backend (``crnn.recognize.backends``) loads the model itself. A checkpoint
is written to a temporary directory and renamed into place, so a reader never sees a
half-written one.
"""

from __future__ import annotations

import hashlib
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crnn.charset import Charset
from crnn.config import ConfigError, from_dict, to_dict
from crnn.imaging import LineGeometry
from crnn.io import atomic_directory
from crnn.recognize.model import ModelConfig

CHECKPOINT_FILES = {
    "model": "model.keras",
    "charset": "charset.json",
    "config": "config.json",
    "metadata": "metadata.json",
}
# files a checkpoint may have; a backend that needs one says so when it is missing
OPTIONAL_FILES = {
    "onnx": "model.onnx",
}


def _default_checkpoint() -> Path:
    """The committed model: ``checkpoints/default`` of a checkout, else the copy a wheel installs under
    ``<prefix>/share/crnn-book-ocr`` (pyproject's data-files)."""
    checkout = Path(__file__).resolve().parents[2] / "checkpoints" / "default"
    installed = Path(sys.prefix) / "share" / "crnn-book-ocr" / "checkpoints" / "default"
    return installed if not checkout.is_dir() and installed.is_dir() else checkout


# the committed model, so that reading works right after installation
DEFAULT_CHECKPOINT = _default_checkpoint()


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete or inconsistent."""


@dataclass(frozen=True)
class Checkpoint:
    """What a checkpoint directory says about its model: alphabet, architecture, framing, provenance."""

    path: Path
    charset: Charset
    model_config: ModelConfig
    geometry: LineGeometry
    metadata: dict[str, Any]
    # batches are padded as in training, to a multiple of this many pixels (``quantized_width``)
    width_quantum: int = 1

    def file(self, kind: str) -> Path:
        """The path of one of :data:`CHECKPOINT_FILES` ("model", "charset", "config", "metadata") or
        :data:`OPTIONAL_FILES` ("onnx")."""
        return self.path / (CHECKPOINT_FILES.get(kind) or OPTIONAL_FILES[kind])

    @property
    def model_version(self) -> str:
        """A short name of the model: directory, commit and training step."""
        return (f"{self.path.name}@{self.metadata.get('git_commit', 'unknown')}"
                f"/step{self.metadata.get('metrics', {}).get('step', '?')}")


def file_sha256(path: str | Path) -> str:
    """The SHA-256 of a file's bytes, hex (ties an exported model to the ``model.keras`` it came from)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def save_checkpoint(directory: str | Path, model: Any, charset: Charset, geometry: LineGeometry, train_config: Any,
                    metadata: dict[str, Any]) -> None:
    """Write a checkpoint directory (model, charset, resolved config with geometry, metadata) atomically."""
    with atomic_directory(directory) as tmp:
        model.save(tmp / CHECKPOINT_FILES["model"])
        charset.save(tmp / CHECKPOINT_FILES["charset"])
        config = {"train": to_dict(train_config), "geometry": to_dict(geometry)}
        (tmp / CHECKPOINT_FILES["config"]).write_text(json.dumps(config, indent=1, ensure_ascii=False),
                                                      encoding="utf-8")
        (tmp / CHECKPOINT_FILES["metadata"]).write_text(json.dumps(metadata, indent=1, ensure_ascii=False),
                                                        encoding="utf-8")


def read_checkpoint(directory: str | Path) -> Checkpoint:
    """Read a checkpoint's charset, config and metadata; raises ``CheckpointError`` with a one-line reason."""
    directory = Path(directory)
    missing = [name for name in CHECKPOINT_FILES.values() if not (directory / name).is_file()]
    if missing:
        raise CheckpointError(f"checkpoint {directory} is missing {', '.join(missing)}")
    try:
        charset = Charset.load(directory / CHECKPOINT_FILES["charset"])
        config = json.loads((directory / CHECKPOINT_FILES["config"]).read_text(encoding="utf-8"))
        geometry = from_dict(LineGeometry, config["geometry"])
        model_fields = dict(config["train"]["model"])
        # checkpoints before the line height had one source stored it with the model too
        stored_height = model_fields.pop("height", geometry.height)
        if stored_height != geometry.height:
            raise ConfigError(f"model height {stored_height} differs from the line height {geometry.height}")
        model_config = from_dict(ModelConfig, model_fields)
        width_quantum = int(config["train"].get("width_quantum", 1))
        metadata = json.loads((directory / CHECKPOINT_FILES["metadata"]).read_text(encoding="utf-8"))
    except (ValueError, KeyError, TypeError, ConfigError) as exc:
        raise CheckpointError(f"checkpoint {directory} has an unreadable config or charset: {exc}") from None
    return Checkpoint(directory, charset, model_config, geometry, metadata, width_quantum)
