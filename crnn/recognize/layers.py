"""Custom Keras layers of the recognizer, registered for serialization (``safe_mode`` loads them).

Importing this module registers them; ``crnn.recognize.architectures`` and the Keras backend
do so before they build or load a model.
"""

from __future__ import annotations

import keras
from keras import layers, ops


@keras.saving.register_keras_serializable(package="crnn")
class LSTMStep(layers.Layer):
    """One LSTM time step whose input term ``x W + b`` arrives precomputed (gates in Keras' order i, f, c, o)."""

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.state_size = [units, units]
        self.output_size = units

    def build(self, input_shape) -> None:
        self.recurrent_kernel = self.add_weight(
            shape=(self.units, 4 * self.units), initializer="orthogonal", name="recurrent_kernel"
        )

    def call(self, projected_inputs, states, training: bool = False):
        hidden, cell = states
        gates = projected_inputs + ops.matmul(hidden, self.recurrent_kernel)
        input_gate, forget_gate, candidate, output_gate = ops.split(gates, 4, axis=-1)
        cell = ops.sigmoid(forget_gate) * cell + ops.sigmoid(input_gate) * ops.tanh(candidate)
        hidden = ops.sigmoid(output_gate) * ops.tanh(cell)
        return hidden, [hidden, cell]

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}


@keras.saving.register_keras_serializable(package="crnn")
class BidirectionalLSTM(layers.Layer):
    """``Bidirectional(LSTM(units, return_sequences=True))`` with the input projections taken out of the time loop.

    The same function, parameters and initialization as the Keras pair (the weights map one to one,
    see ``tests/test_model.py``). Keras' LSTM without cuDNN multiplies each frame's input by the
    input kernel inside its time loop; here both directions' input terms are one matrix product
    over the whole sequence, and the loops only carry the recurrent product, which shortens a
    training step on a CPU.
    Input ``(batch, frames, features)``, output ``(batch, frames, 2 * units)``: forward, then backward.
    """

    def __init__(self, units: int, **kwargs) -> None:
        super().__init__(**kwargs)
        self.units = units
        self.forward_steps = layers.RNN(LSTMStep(units, name="forward_step"), return_sequences=True,
                                        name="forward")
        self.backward_steps = layers.RNN(LSTMStep(units, name="backward_step"), return_sequences=True,
                                         go_backwards=True, name="backward")

    def build(self, input_shape) -> None:
        features = input_shape[-1]
        for direction in ("forward", "backward"):
            # one Glorot kernel per direction, as each Keras LSTM draws its own (D, 4 units) kernel
            setattr(self, f"{direction}_kernel", self.add_weight(
                shape=(features, 4 * self.units), initializer="glorot_uniform", name=f"{direction}_kernel"))
            setattr(self, f"{direction}_bias", self.add_weight(
                shape=(4 * self.units,), initializer=self._unit_forget_bias, name=f"{direction}_bias"))
        step_input_shape = (input_shape[0], input_shape[1], 4 * self.units)
        self.forward_steps.build(step_input_shape)
        self.backward_steps.build(step_input_shape)

    def _unit_forget_bias(self, shape, dtype=None):
        """Zeros but ones for the forget gate, as Keras' LSTM starts (``unit_forget_bias=True``)."""
        units = self.units
        return ops.concatenate([ops.zeros((units,), dtype), ops.ones((units,), dtype),
                                ops.zeros((2 * units,), dtype)])

    def call(self, inputs, training: bool = False):
        kernel = ops.concatenate([self.forward_kernel, self.backward_kernel], axis=1)
        bias = ops.concatenate([self.forward_bias, self.backward_bias])
        projected = ops.matmul(inputs, kernel) + bias
        split = 4 * self.units
        forward = self.forward_steps(projected[..., :split], training=training)
        # go_backwards yields the outputs last frame first
        backward = ops.flip(self.backward_steps(projected[..., split:], training=training), axis=1)
        return ops.concatenate([forward, backward], axis=-1)

    def compute_output_shape(self, input_shape):
        return (*input_shape[:-1], 2 * self.units)

    def get_config(self) -> dict:
        return {**super().get_config(), "units": self.units}
