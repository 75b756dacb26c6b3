"""A loaded recognizer: a checkpoint, a backend that runs it, and batched reading of line crops."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crnn.charset import Charset
from crnn.imaging import LineGeometry
from crnn.recognize.backends import Backend, load_backend
from crnn.recognize.batching import width_sorted_batches
from crnn.recognize.checkpoint import DEFAULT_CHECKPOINT, Checkpoint, read_checkpoint
from crnn.recognize.decoders import Decoded, Decoder, decode_batch
from crnn.recognize.model import logit_lengths, prepare_images


@dataclass
class Recognizer:
    """Reads normalized line images (``crnn.imaging.normalize_line``) with one checkpoint's model.

    Safe to share between threads: the model runs one batch at a time (a backend already uses
    every core for one batch, and not every backend may be entered twice at once), while the
    callers' other work, a page's layout say, goes on in parallel.
    """

    checkpoint: Checkpoint
    backend: Backend
    _model_lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    @property
    def charset(self) -> Charset:
        return self.checkpoint.charset

    @property
    def geometry(self) -> LineGeometry:
        return self.checkpoint.geometry

    def logits(self, lines: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        """Logits and frame counts for normalized line images (one batch, padded to the widest,
        rounded up to the checkpoint's width quantum)."""
        images, widths = prepare_images(lines, width_quantum=self.checkpoint.width_quantum)
        with self._model_lock:
            logits = self.backend.logits(images)
        return logits, logit_lengths(widths, self.checkpoint.model_config)

    def read(self, lines: list[np.ndarray], decoder: Decoder, batch_size: int = 32) -> list[Decoded]:
        """Decode normalized line images, batched by similar width; results in the order given."""
        results: list[Decoded | None] = [None] * len(lines)
        for indices in width_sorted_batches([line.shape[1] for line in lines], batch_size):
            logits, lengths = self.logits([lines[i] for i in indices])
            for i, decoded in zip(indices, decode_batch(logits, lengths, self.charset, decoder), strict=True):
                results[int(i)] = decoded
        return [r for r in results if r is not None]


def load_recognizer(directory: str | Path = DEFAULT_CHECKPOINT, backend: str = "auto") -> Recognizer:
    """Read a checkpoint and load its model with ``backend`` (``auto``, ``onnx`` or ``keras``, see
    ``crnn.recognize.backends``); raises ``CheckpointError`` with a one-line reason."""
    checkpoint = read_checkpoint(directory)
    return Recognizer(checkpoint, load_backend(checkpoint, backend))
