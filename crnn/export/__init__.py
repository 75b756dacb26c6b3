"""Model exporters: a checkpoint's Keras model written for another runtime, checked before it is kept.

:data:`EXPORTERS` maps a format name to an exporter (``onnx`` and ``onnx-keras``: two ways
to an ONNX graph for ONNX Runtime, read by ``crnn.recognize.backends.OnnxBackend``; see
``crnn.export.onnx_export``). An export is written beside ``model.keras`` only
after it has given the same logits and the same greedy text as the Keras model on
synthetic validation lines (``crnn.export.parity``). Exporting needs the ``train`` extra
(Keras, onnx; tf2onnx for ``onnx-keras``); reading an export needs only ONNX Runtime.
"""

from crnn.export.onnx_export import (
    EXPORTERS,
    ExportError,
    ExportReport,
    export_checkpoint,
    export_onnx,
    export_onnx_with_keras,
)
from crnn.export.parity import ParityReport, compare_backends, parity_lines

__all__ = [
    "EXPORTERS",
    "ExportError",
    "ExportReport",
    "ParityReport",
    "compare_backends",
    "export_checkpoint",
    "export_onnx",
    "export_onnx_with_keras",
    "parity_lines",
]
