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


@dataclass(frozen=True)
class FoldedConv:
    """A 3x3 'same' convolution with its batch normalization folded in, ReLU after, then optional max pooling."""

    kernel: np.ndarray  # (3, 3, in, out) float32
    bias: np.ndarray  # (out,) float32
    strides: tuple[int, int]  # (height, width)
    pool: tuple[int, int]  # (height, width) 'valid' max pooling after the ReLU; (1, 1) for none


@dataclass(frozen=True)
class LSTMWeights:
    """One bidirectional LSTM layer; gates in Keras' order (input, forget, candidate, output)."""

    units: int
    kernels: tuple[np.ndarray, np.ndarray]  # forward, backward: (features, 4 units)
    recurrent_kernels: tuple[np.ndarray, np.ndarray]  # forward, backward: (units, 4 units)
    biases: tuple[np.ndarray, np.ndarray]  # forward, backward: (4 units,)


@dataclass(frozen=True)
class InferenceWeights:
    """Everything a runtime needs to compute a ConvBiLSTM's logits: convolutions, LSTMs, the dense layer.

    The output of the last convolution is ``(batch, 1, frames, channels)``; its frames go
    through the bidirectional LSTMs (forward and backward outputs concatenated) and the dense layer.
    """

    convs: tuple[FoldedConv, ...]
    lstms: tuple[LSTMWeights, ...]
    dense_kernel: np.ndarray  # (features, classes)
    dense_bias: np.ndarray  # (classes,)


class Architecture(Protocol):
    """Builds a recognizer for line images ``height`` rows high, and its prediction-only form."""

    def build(self, config: ModelConfig, num_classes: int, height: int, name: str = "crnn") -> Any:
        """A Keras model: images ``(batch, height, width, 1)`` in, logits ``(batch, frames, classes)`` out."""
        ...

    def inference_model(self, model: Any, config: ModelConfig, height: int) -> Any:
        """A model that gives ``model``'s logits in inference mode, as fast as possible."""
        ...

    def inference_weights(self, model: Any, config: ModelConfig) -> InferenceWeights:
        """``model``'s weights in inference form (batch normalizations folded), for exporters."""
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

    def _folded_convs(self, model: Any, config: ModelConfig) -> list[FoldedConv]:
        """Each batch normalization folded into the convolution before it: weights scaled, a bias added."""
        folded = []
        for i, block in enumerate(config.blocks):
            for j in range(block.convs):
                conv, norm = model.get_layer(self.conv_name(i, j)), model.get_layer(self.norm_name(i, j))
                gamma, beta, mean, variance = (np.asarray(w, dtype=np.float64) for w in norm.get_weights())
                scale = gamma / np.sqrt(variance + norm.epsilon)
                kernel = np.asarray(conv.get_weights()[0], dtype=np.float64) * scale  # scales output channels
                pool = block.pool if j == block.convs - 1 else (1, 1)
                folded.append(FoldedConv(kernel.astype(np.float32), (beta - mean * scale).astype(np.float32),
                                         tuple(conv.strides), tuple(pool)))
        return folded

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
        for n, conv in enumerate(self._folded_convs(model, config)):
            layer = layers.Conv2D(conv.kernel.shape[-1], 3, strides=conv.strides, padding="same", activation="relu",
                                  name=f"folded_conv{n}")
            x = layer(x)
            layer.set_weights([conv.kernel, conv.bias])
            if conv.pool != (1, 1):
                x = layers.MaxPooling2D(pool_size=conv.pool, strides=conv.pool, padding="valid", name=f"pool{n}")(x)
        x = layers.Reshape((-1, config.blocks[-1].filters), name="to_sequence")(x)
        for i in range(len(config.lstm_units)):
            x = model.get_layer(f"bilstm{i}")(x)
        return keras.Model(images, model.get_layer("logits")(x), name=f"{model.name}_inference")

    def inference_weights(self, model: Any, config: ModelConfig) -> InferenceWeights:
        lstms = []
        for i, units in enumerate(config.lstm_units):
            layer = model.get_layer(f"bilstm{i}")
            lstms.append(LSTMWeights(
                units,
                (np.asarray(layer.forward_kernel), np.asarray(layer.backward_kernel)),
                (np.asarray(layer.forward_steps.cell.recurrent_kernel),
                 np.asarray(layer.backward_steps.cell.recurrent_kernel)),
                (np.asarray(layer.forward_bias), np.asarray(layer.backward_bias)),
            ))
        kernel, bias = (np.asarray(w) for w in model.get_layer("logits").get_weights())
        return InferenceWeights(tuple(self._folded_convs(model, config)), tuple(lstms), kernel, bias)


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


def inference_weights(model: Any, config: ModelConfig) -> InferenceWeights:
    """``model``'s weights in inference form (see :meth:`Architecture.inference_weights`)."""
    return architecture_of(config).inference_weights(model, config)
