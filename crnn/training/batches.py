"""Training lines in memory and the batches an epoch draws from them."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from crnn.charset import Charset
from crnn.data import DatasetError, LineDataset
from crnn.recognize.model import ModelConfig, can_fit, logit_lengths, prepare_images
from crnn.training.config import TrainingError


@dataclass
class LineSet:
    """Line images with their labels, as text and as label ids."""

    images: list[np.ndarray]
    labels: list[str]
    encoded: list[list[int]]

    @property
    def widths(self) -> np.ndarray:
        return np.array([im.shape[1] for im in self.images], dtype=np.int64)


def load_lines(dataset: LineDataset, charset: Charset, model_config: ModelConfig,
               limit: int | None = None) -> tuple[LineSet, int]:
    """The lines of a data set that the model can emit; also returns how many were too narrow for their label."""
    images: list[np.ndarray] = []
    labels: list[str] = []
    encoded: list[list[int]] = []
    dropped = 0
    try:
        for pair in dataset:
            ids = charset.encode(pair.text)
            if not can_fit(ids, pair.image.shape[1], model_config):
                dropped += 1
                continue
            images.append(pair.image)
            labels.append(pair.text)
            encoded.append(ids)
            if limit is not None and len(images) >= limit:
                break
    except DatasetError as exc:
        raise TrainingError(str(exc)) from None
    return LineSet(images, labels, encoded), dropped


def epoch_batches(widths: np.ndarray, batch_size: int, steps: int, seed: int, epoch: int,
                  bucket_batches: int, weights: np.ndarray | None = None) -> list[np.ndarray]:
    """``steps`` batches of line indices for one epoch, each of similar widths; depends only on its arguments.

    Without ``weights`` every line is drawn equally often (whole permutations); with them,
    line ``i`` is drawn with probability ``weights[i]`` (they sum to 1), with replacement.
    """
    rng = np.random.default_rng([seed, epoch])
    needed = steps * batch_size
    if weights is None:
        order = np.concatenate([rng.permutation(len(widths)) for _ in range(math.ceil(needed / len(widths)))])
        order = order[:needed]
    else:
        order = rng.choice(len(widths), size=needed, p=weights)
    group = batch_size * bucket_batches
    batches = []
    for start in range(0, needed, group):
        chunk = order[start : start + group]
        chunk = chunk[np.argsort(widths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def make_batch(lines: LineSet, indices: np.ndarray, model_config: ModelConfig, width_quantum: int):
    """Images and ``(labels, label_lengths, frames)`` for the lines at ``indices``."""
    chosen = [lines.images[i] for i in indices]
    images, widths = prepare_images(chosen, width_quantum=width_quantum)
    label_lengths = np.array([len(lines.encoded[i]) for i in indices], dtype=np.int32)
    labels = np.zeros((len(indices), max(1, int(label_lengths.max()))), dtype=np.int32)
    for row, i in enumerate(indices):
        labels[row, : label_lengths[row]] = lines.encoded[i]
    frames = logit_lengths(widths, model_config).astype(np.int32)
    return images, (labels, label_lengths, frames)
