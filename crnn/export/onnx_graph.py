"""An ONNX graph written from the model's inference weights, with ONNX's own LSTM operator.

Keras' ONNX export (tf2onnx) turns each recurrent layer into a generic ``Loop`` that ONNX
Runtime steps frame by frame through a subgraph; ONNX's ``LSTM`` operator runs the same
recurrence in one fused kernel, which reads a page's lines in less time (``benchmarks/``
measures both). This writer also needs no TensorFlow: the weights come from any Keras
backend, so a model trained under JAX exports the same way.

The graph: NHWC images -> NCHW -> per convolution ``Conv`` (SAME_UPPER padding, as
TensorFlow and JAX pad 'same' convolutions) + ``Relu`` (+ ``MaxPool``) -> frames
``(frames, batch, channels)`` -> per layer a bidirectional ``LSTM`` -> ``MatMul`` + ``Add``
-> logits ``(batch, frames, classes)``. Batch and width are dynamic.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from crnn.recognize.architectures import InferenceWeights, LSTMWeights

OPSET = 17
INPUT_NAME = "image"
OUTPUT_NAME = "logits"


def _onnx_gates(matrix: np.ndarray) -> np.ndarray:
    """Gate blocks along the last axis from Keras' order (i, f, c, o) to ONNX's (i, o, f, c)."""
    i, f, c, o = np.split(matrix, 4, axis=-1)
    return np.concatenate([i, o, f, c], axis=-1)


def _lstm_tensors(lstm: LSTMWeights) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """ONNX's W ``(2, 4H, D)``, R ``(2, 4H, H)`` and B ``(2, 8H)`` (input and recurrent biases) of a layer."""
    w = np.stack([_onnx_gates(k).T for k in lstm.kernels])
    r = np.stack([_onnx_gates(k).T for k in lstm.recurrent_kernels])
    b = np.stack([np.concatenate([_onnx_gates(bias), np.zeros_like(bias)]) for bias in lstm.biases])
    return w.astype(np.float32), r.astype(np.float32), b.astype(np.float32)


def build_onnx_model(weights: InferenceWeights, height: int, name: str = "crnn"):
    """The ``onnx.ModelProto`` computing the logits of ``weights`` for lines ``height`` rows high."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper

    nodes: list = []
    initializers: list = []

    def constant(tensor_name: str, value: np.ndarray) -> str:
        initializers.append(numpy_helper.from_array(np.ascontiguousarray(value), tensor_name))
        return tensor_name

    def node(op: str, inputs: list[str], output: str, **attributes) -> str:
        nodes.append(helper.make_node(op, inputs, [output], name=output, **attributes))
        return output

    x = node("Transpose", [INPUT_NAME], "nchw", perm=[0, 3, 1, 2])
    for n, conv in enumerate(weights.convs):
        kernel = np.transpose(conv.kernel, (3, 2, 0, 1))  # (out, in, kh, kw)
        x = node("Conv", [x, constant(f"conv{n}.kernel", kernel), constant(f"conv{n}.bias", conv.bias)],
                 f"conv{n}", auto_pad="SAME_UPPER", strides=list(conv.strides), kernel_shape=list(kernel.shape[2:]))
        x = node("Relu", [x], f"relu{n}")
        if conv.pool != (1, 1):
            x = node("MaxPool", [x], f"pool{n}", kernel_shape=list(conv.pool), strides=list(conv.pool))
    # (batch, channels, 1, frames) -> (frames, batch, channels), the LSTM operator's layout
    x = node("Squeeze", [x, constant("height_axis", np.array([2], dtype=np.int64))], "features")
    x = node("Transpose", [x], "frames", perm=[2, 0, 1])
    for n, lstm in enumerate(weights.lstms):
        w, r, b = _lstm_tensors(lstm)
        x = node("LSTM", [x, constant(f"lstm{n}.W", w), constant(f"lstm{n}.R", r), constant(f"lstm{n}.B", b)],
                 f"lstm{n}", direction="bidirectional", hidden_size=lstm.units)
        # (frames, 2, batch, units) -> (frames, batch, 2 units): forward, then backward, as the Keras layer
        x = node("Transpose", [x], f"lstm{n}.frames", perm=[0, 2, 1, 3])
        x = node("Reshape", [x, constant(f"lstm{n}.shape", np.array([0, 0, -1], dtype=np.int64))], f"lstm{n}.out")
    x = node("MatMul", [x, constant("dense.kernel", weights.dense_kernel.astype(np.float32))], "dense")
    x = node("Add", [x, constant("dense.bias", weights.dense_bias.astype(np.float32))], "dense.biased")
    node("Transpose", [x], OUTPUT_NAME, perm=[1, 0, 2])
    classes = int(weights.dense_kernel.shape[1])
    graph = helper.make_graph(
        nodes, name, [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, ["batch", height, "width", 1])],
        [helper.make_tensor_value_info(OUTPUT_NAME, TensorProto.FLOAT, ["batch", "frames", classes])],
        initializers)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], producer_name="crnn-book-ocr")
    onnx.checker.check_model(model)
    return model


def write_onnx_graph(weights: InferenceWeights, height: int, path: str | Path) -> None:
    """:func:`build_onnx_model`, saved to ``path``."""
    import onnx

    onnx.save(build_onnx_model(weights, height), str(path))
