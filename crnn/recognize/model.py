"""The recognizer's architecture parameters and the arithmetic of its frames.

The network itself is built by an architecture from ``crnn.recognize.architectures``,
named in :attr:`ModelConfig.architecture`. Its input is ``(batch, height, width, 1)``
float images with ink near 1 and paper near 0 (see :func:`prepare_images`), where
``height`` is the line height of :class:`crnn.imaging.LineGeometry` (the one source
of it); its output is per-frame logits (no softmax), index 0 the CTC blank.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np


@dataclass(frozen=True)
class ConvBlock:
    """``convs`` 3x3 convolutions of ``filters`` (batch-normalized, ReLU), then max pooling.

    ``stride`` applies to the block's first convolution ('same' padding, so a size is divided
    rounding up). Striding instead of pooling shrinks the activations the block normalizes and
    stores for the backward pass, which makes a training step shorter (the model card says by
    how much for the committed recipe).
    """

    filters: int
    convs: int = 1
    pool: tuple[int, int] = (2, 2)  # (height, width) pooling; (1, 1) for none
    stride: tuple[int, int] = (1, 1)  # (height, width) stride of the first convolution


def _strided(size, stride: int):
    return -(-size // stride)  # 'same' padding: ceil(size / stride)


@dataclass(frozen=True)
class ModelConfig:
    """A convolution stack that reduces the line height to 1, then bidirectional LSTMs, then logits."""

    architecture: str = "crnn"
    blocks: tuple[ConvBlock, ...] = (
        ConvBlock(16, 1, (2, 2)),
        ConvBlock(32, 1, (2, 2)),
        ConvBlock(64, 1, (2, 1)),
        ConvBlock(96, 1, (2, 1)),
        ConvBlock(128, 1, (2, 1)),
    )
    lstm_units: tuple[int, ...] = (96, 96)
    dropout: float = 0.2

    def __post_init__(self) -> None:
        for block in self.blocks:
            if min(*block.pool, *block.stride) < 1:
                raise ValueError(f"pooling and strides must be at least 1, got {block}")

    def output_height(self, height: int) -> int:
        """The feature height the convolution stack leaves of an input ``height`` rows high."""
        remaining = height
        for block in self.blocks:
            remaining = _strided(remaining, block.stride[0]) // block.pool[0]
        return remaining

    def check_height(self, height: int) -> None:
        """Raise ``ValueError`` unless the stack reduces lines ``height`` rows high to one row."""
        remaining = self.output_height(height)
        if remaining != 1:
            raise ValueError(f"the convolution stack must reduce height {height} to 1, it leaves {remaining}")


def logit_lengths(widths: np.ndarray | list[int] | int, config: ModelConfig) -> np.ndarray:
    """Number of output frames for input images of these widths.

    Derived from the layer stack: 'same' convolutions keep the width or, strided,
    divide it rounding up; each max pooling with 'valid' padding floors it by its
    width factor.
    """
    lengths = np.asarray(widths, dtype=np.int64)
    for block in config.blocks:
        lengths = _strided(lengths, block.stride[1]) // block.pool[1]
    return lengths


def frame_step_px(config: ModelConfig) -> int:
    """Input pixels per output frame (the product of the width strides and poolings)."""
    return int(np.prod([block.stride[1] * block.pool[1] for block in config.blocks]))


def min_frames_for(label: list[int]) -> int:
    """Frames CTC needs to emit ``label``: one per character, plus a blank between repeated characters."""
    repeats = sum(1 for a, b in pairwise(label) if a == b)
    return len(label) + repeats


def can_fit(label: list[int], width: int, config: ModelConfig) -> bool:
    """True if an image of ``width`` pixels yields enough frames for ``label``."""
    return int(logit_lengths(width, config)) >= min_frames_for(label)


def quantized_width(widest: int, width_quantum: int) -> int:
    """The padded width of a batch whose widest line is ``widest`` px: the next multiple of ``width_quantum``.

    Training, validation and inference must all pad this way. A stride-2 convolution with
    "same" padding pads an odd width on both sides and an even one on the right only, so
    the sampling grid moves by a pixel with the parity of the batch width; a model trained
    on one grid misreads the line ends on the other.
    """
    return -(-int(widest) // width_quantum) * width_quantum


def prepare_images(lines: list[np.ndarray], width: int | None = None,
                   width_quantum: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """Stack normalized uint8 line images (ink dark) into a float batch (ink 1, paper 0).

    Lines are left-aligned and padded with paper to ``width`` (default: the widest),
    rounded up to a multiple of ``width_quantum`` (see ``quantized_width``).
    Returns the batch and the true widths.
    """
    widths = np.array([line.shape[1] for line in lines], dtype=np.int64)
    height = lines[0].shape[0]
    width = quantized_width(width or widths.max(), width_quantum)
    batch = np.zeros((len(lines), height, width, 1), dtype=np.float32)
    for i, line in enumerate(lines):
        w = min(line.shape[1], width)
        batch[i, :, :w, 0] = 1.0 - line[:, :w].astype(np.float32) / 255.0
    return batch, widths
