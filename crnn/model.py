"""The line recognizer: a CNN down to height 1, bidirectional LSTMs, and per-frame logits.

Written with Keras 3 layers and ``keras.ops`` only, so it trains under the
TensorFlow, JAX or PyTorch backend and the saved ``.keras`` file loads under any
of them. The model outputs logits (no softmax); index 0 is the CTC blank, as
``crnn.charset.Charset`` defines it. Input: ``(batch, height, width, 1)`` float
images with ink near 1 and paper near 0 (see :func:`prepare_images`).
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
    stores for the backward pass; on the 2-core CPU, the first two blocks strided made a training
    step about a third shorter (checkpoints/README.md has the trade-off measured).
    """

    filters: int
    convs: int = 1
    pool: tuple[int, int] = (2, 2)  # (height, width) pooling; (1, 1) for none
    stride: tuple[int, int] = (1, 1)  # (height, width) stride of the first convolution


def _strided(size, stride: int):
    return -(-size // stride)  # 'same' padding: ceil(size / stride)


@dataclass(frozen=True)
class ModelConfig:
    height: int = 32
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
        remaining = self.height
        for block in self.blocks:
            remaining = _strided(remaining, block.stride[0]) // block.pool[0]
        if remaining != 1:
            raise ValueError(
                f"the convolution stack must reduce height {self.height} to 1, it leaves {remaining}"
            )


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


def build_model(config: ModelConfig, num_classes: int, name: str = "crnn"):
    """The recognizer as a Keras functional model: images in, ``(batch, frames, num_classes)`` logits out."""
    import keras
    from keras import layers

    from crnn.layers import BidirectionalLSTM

    images = keras.Input(shape=(config.height, None, 1), name="image")
    x = images
    for i, block in enumerate(config.blocks):
        for j in range(block.convs):
            strides = block.stride if j == 0 else (1, 1)
            x = layers.Conv2D(block.filters, 3, strides=strides, padding="same", use_bias=False,
                              name=f"conv{i}_{j}")(x)
            x = layers.BatchNormalization(name=f"bn{i}_{j}")(x)
            x = layers.ReLU(name=f"relu{i}_{j}")(x)
        if block.pool != (1, 1):
            x = layers.MaxPooling2D(pool_size=block.pool, strides=block.pool, padding="valid", name=f"pool{i}")(x)
    # height is 1 now: (batch, 1, frames, channels) -> (batch, frames, channels)
    x = layers.Reshape((-1, config.blocks[-1].filters), name="to_sequence")(x)
    for i, units in enumerate(config.lstm_units):
        x = BidirectionalLSTM(units, name=f"bilstm{i}")(x)
        if config.dropout:
            x = layers.Dropout(config.dropout, name=f"dropout{i}")(x)
    logits = layers.Dense(num_classes, name="logits")(x)
    return keras.Model(images, logits, name=name)


def quantized_width(widest: int, width_quantum: int) -> int:
    """The padded width of a batch whose widest line is ``widest`` px: the next multiple of ``width_quantum``.

    Training, validation and inference must all pad this way. A stride-2 convolution with
    "same" padding pads an odd width on both sides and an even one on the right only, so
    the sampling grid moves by a pixel with the parity of the batch width; a model trained
    on one grid misreads the line ends on the other (validation padded to the widest line
    read leading spaces that inference never produced).
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


def ctc_loss(labels, label_lengths, logits, logit_lengths_):
    """Per-sample CTC loss from logits, with explicit label and logit lengths (blank = 0).

    Under the TensorFlow backend the labels go to ``tf.nn.ctc_loss`` as a sparse
    tensor, which runs TensorFlow's C++ CTC kernel: with dense labels (what
    ``keras.ops.ctc_loss`` passes) TensorFlow falls back to a graph of scans that
    took 13x longer here (312 ms vs 23 ms per batch of 32 x 112 frames, same loss).
    Other backends use ``keras.ops.ctc_loss``.
    """
    import keras
    from keras import ops

    labels = ops.cast(labels, "int32")
    label_lengths = ops.cast(label_lengths, "int32")
    logit_lengths_ = ops.cast(logit_lengths_, "int32")
    if keras.backend.backend() == "tensorflow":
        import tensorflow as tf

        positions = tf.range(tf.shape(labels)[1])[None, :]
        kept = tf.where(positions < label_lengths[:, None], labels, tf.zeros_like(labels))
        return tf.nn.ctc_loss(
            labels=tf.sparse.from_dense(kept),  # label ids are >= 1, so only padding is dropped
            logits=tf.cast(logits, "float32"),
            label_length=None,
            logit_length=logit_lengths_,
            blank_index=0,
            logits_time_major=False,
        )
    return ops.ctc_loss(
        target=labels, output=logits, target_length=label_lengths, output_length=logit_lengths_, mask_index=0
    )


def inference_model(model, config: ModelConfig):
    """The same recognizer for prediction only: each batch normalization folded into the convolution
    before it (weights scaled, a bias added, ReLU fused), dropout left out.

    Shares the LSTM and dense layers with ``model``; the logits agree with ``model``'s in
    inference mode to float precision. Folding removes a pass over every convolution's output.
    """
    import keras
    from keras import layers

    images = keras.Input(shape=(config.height, None, 1), name="image")
    x = images
    for i, block in enumerate(config.blocks):
        for j in range(block.convs):
            conv, norm = model.get_layer(f"conv{i}_{j}"), model.get_layer(f"bn{i}_{j}")
            gamma, beta, mean, variance = (np.asarray(w, dtype=np.float64) for w in norm.get_weights())
            scale = gamma / np.sqrt(variance + norm.epsilon)
            kernel = np.asarray(conv.get_weights()[0], dtype=np.float64) * scale  # scales output channels
            folded = layers.Conv2D(block.filters, 3, strides=conv.strides, padding="same", activation="relu",
                                   name=f"conv{i}_{j}")
            x = folded(x)
            folded.set_weights([kernel.astype(np.float32), (beta - mean * scale).astype(np.float32)])
        if block.pool != (1, 1):
            x = layers.MaxPooling2D(pool_size=block.pool, strides=block.pool, padding="valid", name=f"pool{i}")(x)
    x = layers.Reshape((-1, config.blocks[-1].filters), name="to_sequence")(x)
    for i in range(len(config.lstm_units)):
        x = model.get_layer(f"bilstm{i}")(x)
    return keras.Model(images, model.get_layer("logits")(x), name=f"{model.name}_inference")
