"""Recognizer architectures by name: how to build each one, and its faster prediction-only twin.

``ModelConfig.architecture`` names an entry of :data:`ARCHITECTURES`. An architecture
owns its layer names, so it alone knows how to fold its batch normalizations for
inference. Everything is Keras 3 layers and ``keras.ops``: a model trains under the
TensorFlow, JAX or PyTorch backend and its ``.keras`` file loads under any of them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from crnn.recognize.model import ModelConfig


class Architecture(Protocol):
    """Builds a recognizer for line images ``height`` rows high, and its prediction-only form."""

    def build(self, config: ModelConfig, num_classes: int, height: int, name: str = "crnn") -> Any:
        """A Keras model: images ``(batch, height, width, 1)`` in, logits ``(batch, frames, classes)`` out."""
        ...

    def inference_model(self, model: Any, config: ModelConfig, height: int) -> Any:
        """A model that gives ``model``'s logits in inference mode, as fast as possible."""
        ...


@dataclass(frozen=True)
class ConvBiLSTM:
    """Conv-BN-ReLU blocks down to height 1, bidirectional LSTMs, a dense layer of logits."""

    @staticmethod
    def conv_name(block: int, conv: int) -> str:
        return f"conv{block}_{conv}"

    @staticmethod
    def norm_name(block: int, conv: int) -> str:
        return f"bn{block}_{conv}"

    def build(self, config: ModelConfig, num_classes: int, height: int, name: str = "crnn") -> Any:
        import keras
        from keras import layers

        from crnn.recognize.layers import BidirectionalLSTM

        config.check_height(height)
        images = keras.Input(shape=(height, None, 1), name="image")
        x = images
        for i, block in enumerate(config.blocks):
            for j in range(block.convs):
                strides = block.stride if j == 0 else (1, 1)
                x = layers.Conv2D(block.filters, 3, strides=strides, padding="same", use_bias=False,
                                  name=self.conv_name(i, j))(x)
                x = layers.BatchNormalization(name=self.norm_name(i, j))(x)
                x = layers.ReLU(name=f"relu{i}_{j}")(x)
            if block.pool != (1, 1):
                x = layers.MaxPooling2D(pool_size=block.pool, strides=block.pool, padding="valid",
                                        name=f"pool{i}")(x)
        # height is 1 now: (batch, 1, frames, channels) -> (batch, frames, channels)
        x = layers.Reshape((-1, config.blocks[-1].filters), name="to_sequence")(x)
        for i, units in enumerate(config.lstm_units):
            x = BidirectionalLSTM(units, name=f"bilstm{i}")(x)
            if config.dropout:
                x = layers.Dropout(config.dropout, name=f"dropout{i}")(x)
        logits = layers.Dense(num_classes, name="logits")(x)
        return keras.Model(images, logits, name=name)

    def inference_model(self, model: Any, config: ModelConfig, height: int) -> Any:
        """Each batch normalization folded into the convolution before it (weights scaled, a bias
        added, ReLU fused), dropout left out.

        Shares the LSTM and dense layers with ``model``; the logits agree with ``model``'s in
        inference mode to float precision. Folding removes a pass over every convolution's output.
        """
        import keras
        from keras import layers

        images = keras.Input(shape=(height, None, 1), name="image")
        x = images
        for i, block in enumerate(config.blocks):
            for j in range(block.convs):
                conv, norm = model.get_layer(self.conv_name(i, j)), model.get_layer(self.norm_name(i, j))
                gamma, beta, mean, variance = (np.asarray(w, dtype=np.float64) for w in norm.get_weights())
                scale = gamma / np.sqrt(variance + norm.epsilon)
                kernel = np.asarray(conv.get_weights()[0], dtype=np.float64) * scale  # scales output channels
                folded = layers.Conv2D(block.filters, 3, strides=conv.strides, padding="same", activation="relu",
                                       name=self.conv_name(i, j))
                x = folded(x)
                folded.set_weights([kernel.astype(np.float32), (beta - mean * scale).astype(np.float32)])
            if block.pool != (1, 1):
                x = layers.MaxPooling2D(pool_size=block.pool, strides=block.pool, padding="valid",
                                        name=f"pool{i}")(x)
        x = layers.Reshape((-1, config.blocks[-1].filters), name="to_sequence")(x)
        for i in range(len(config.lstm_units)):
            x = model.get_layer(f"bilstm{i}")(x)
        return keras.Model(images, model.get_layer("logits")(x), name=f"{model.name}_inference")


ARCHITECTURES: dict[str, Architecture] = {"crnn": ConvBiLSTM()}


def architecture_of(config: ModelConfig) -> Architecture:
    """The architecture a config names; ``ValueError`` for an unknown name."""
    try:
        return ARCHITECTURES[config.architecture]
    except KeyError:
        raise ValueError(f"unknown architecture {config.architecture!r} (known: {', '.join(ARCHITECTURES)})") \
            from None


def build_model(config: ModelConfig, num_classes: int, height: int, name: str = "crnn") -> Any:
    """The recognizer ``config`` describes, for lines ``height`` rows high."""
    return architecture_of(config).build(config, num_classes, height, name)


def inference_model(model: Any, config: ModelConfig, height: int) -> Any:
    """The prediction-only twin of ``model`` (see :meth:`Architecture.inference_model`)."""
    return architecture_of(config).inference_model(model, config, height)
