"""Checkpoints: a directory with the model and everything needed to use or reproduce it.

    model.keras     the recognizer (Keras 3 format, loads with safe_mode=True)
    charset.json    the alphabet (crnn.charset.Charset), blank at index 0
    config.json     the resolved training config (model architecture included) and line geometry
    metadata.json   seed, data manifest reference, metrics, git commit, parameter count

A checkpoint is written to a temporary directory and renamed into place, so a
reader never sees a half-written one.
"""

from __future__ import annotations

import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from crnn.charset import Charset
from crnn.config import ConfigError, from_dict, to_dict
from crnn.lines import LineGeometry
from crnn.model import ModelConfig, inference_model, logit_lengths, prepare_images

CHECKPOINT_FILES = {
    "model": "model.keras",
    "charset": "charset.json",
    "config": "config.json",
    "metadata": "metadata.json",
}


class CheckpointError(RuntimeError):
    """A checkpoint is missing, incomplete or inconsistent."""


def save_checkpoint(directory: Path, model: Any, charset: Charset, geometry: LineGeometry, train_config: Any,
                    metadata: dict[str, Any]) -> None:
    directory = Path(directory)
    tmp = directory.with_name(directory.name + ".partial")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp / CHECKPOINT_FILES["model"])
    charset.save(tmp / CHECKPOINT_FILES["charset"])
    config = {"train": to_dict(train_config), "geometry": to_dict(geometry)}
    (tmp / CHECKPOINT_FILES["config"]).write_text(json.dumps(config, indent=1, ensure_ascii=False),
                                                  encoding="utf-8")
    (tmp / CHECKPOINT_FILES["metadata"]).write_text(json.dumps(metadata, indent=1, ensure_ascii=False),
                                                    encoding="utf-8")
    if directory.exists():
        old = directory.with_name(directory.name + ".old")
        shutil.rmtree(old, ignore_errors=True)
        os.replace(directory, old)
        os.replace(tmp, directory)
        shutil.rmtree(old, ignore_errors=True)
    else:
        os.replace(tmp, directory)


@dataclass
class Recognizer:
    """A loaded checkpoint: model, charset, model config and line geometry."""

    model: Any
    charset: Charset
    model_config: ModelConfig
    geometry: LineGeometry
    metadata: dict[str, Any]
    path: Path
    # batches are padded as in training, to a multiple of this many pixels: fewer shapes for
    # TensorFlow to trace and oneDNN to plan on the first pass over a page's lines
    width_quantum: int = 1

    _predictor: Any = field(default=None, init=False, repr=False, compare=False)

    def logits(self, lines: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Logits and frame counts for normalized line images (one batch, padded to the widest,
        rounded up to a multiple of ``width_quantum`` pixels)."""
        images, widths = prepare_images(lines, width_quantum=self.width_quantum)
        if self._predictor is None:
            # batch normalization folded into the convolutions: the same logits, 10% faster
            self._predictor = inference_model(self.model, self.model_config)
        # predict_on_batch runs a traced graph (one trace serves all widths after the first
        # few); calling the model eagerly steps the LSTMs in Python, ~10x slower here
        logits = np.asarray(self._predictor.predict_on_batch(images))
        return logits, logit_lengths(widths, self.model_config)


def load_checkpoint(directory: str | Path) -> Recognizer:
    """Load a checkpoint directory; raises ``CheckpointError`` with a one-line reason."""
    directory = Path(directory)
    missing = [name for name in CHECKPOINT_FILES.values() if not (directory / name).is_file()]
    if missing:
        raise CheckpointError(f"checkpoint {directory} is missing {', '.join(missing)}")
    try:
        charset = Charset.load(directory / CHECKPOINT_FILES["charset"])
        config = json.loads((directory / CHECKPOINT_FILES["config"]).read_text(encoding="utf-8"))
        model_config = from_dict(ModelConfig, config["train"]["model"])
        width_quantum = int(config["train"].get("width_quantum", 1))
        geometry = from_dict(LineGeometry, config["geometry"])
        metadata = json.loads((directory / CHECKPOINT_FILES["metadata"]).read_text(encoding="utf-8"))
    except (ValueError, KeyError, ConfigError) as exc:
        raise CheckpointError(f"checkpoint {directory} has an unreadable config or charset: {exc}") from None
    import keras

    import crnn.layers  # noqa: F401  (registers the custom layers for load_model)

    try:
        model = keras.saving.load_model(directory / CHECKPOINT_FILES["model"], compile=False, safe_mode=True)
    except Exception as exc:
        raise CheckpointError(f"cannot load {directory / CHECKPOINT_FILES['model']}: "
                              f"{str(exc).splitlines()[0] if str(exc) else type(exc).__name__}") from None
    classes = int(model.output_shape[-1])
    if classes != charset.num_classes:
        raise CheckpointError(
            f"checkpoint {directory}: the model outputs {classes} classes but its charset has "
            f"{charset.num_classes} (characters + blank)"
        )
    return Recognizer(model, charset, model_config, geometry, metadata, directory, width_quantum)
