"""ONNX exports of a checkpoint's model, two ways, each kept only if it reads like the Keras model.

- ``onnx`` (the default): the graph written from the model's inference weights with ONNX's
  ``LSTM`` operator (``crnn.export.onnx_graph``); needs Keras (any backend) and ``onnx``.
- ``onnx-keras``: Keras 3's own ``model.export(format="onnx")`` of the folded model
  (tf2onnx underneath, TensorFlow backend only); its recurrences become ``Loop`` subgraphs.

Either graph is the prediction-only twin of the checkpoint's model (batch normalizations
folded into the convolutions, ``crnn.recognize.architectures``), with dynamic batch and
width. Its ``metadata_props`` record the charset, the line height and the SHA-256 of the
``model.keras`` it came from, so that a reader can refuse an export that belongs to another
model (``crnn.recognize.backends.OnnxBackend``).
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from crnn.export.parity import ParityReport, compare_backends, parity_lines
from crnn.recognize.architectures import inference_weights
from crnn.recognize.backends import ONNX_CHARSET, ONNX_HEIGHT, ONNX_SOURCE_SHA256, KerasBackend, OnnxBackend
from crnn.recognize.checkpoint import Checkpoint, CheckpointError, file_sha256, read_checkpoint
from crnn.synth.config import SynthConfig

# what `make export` demands of an export before it is kept
DEFAULT_TOLERANCE = 1e-4
DEFAULT_PARITY_LINES = 200


class ExportError(RuntimeError):
    """An export could not be made, or was made and refused (it does not read like the Keras model)."""


@dataclass(frozen=True)
class ExportReport:
    """A kept export: where it is, how close it reads to the Keras model, how long it took."""

    path: Path
    format: str
    parity: ParityReport
    tolerance: float
    seconds: float

    @property
    def size_bytes(self) -> int:
        return self.path.stat().st_size

    def summary(self) -> str:
        return (f"wrote {self.path} ({self.size_bytes / 1e6:.1f} MB, {self.seconds:.1f} s); parity with Keras on "
                f"{self.parity.summary()} (tolerance {self.tolerance:g})")


def _set_metadata(path: Path, values: dict[str, str]) -> None:
    import onnx

    model = onnx.load(str(path))
    kept = [prop for prop in model.metadata_props if prop.key not in values]
    del model.metadata_props[:]
    model.metadata_props.extend(kept)
    for key, value in values.items():
        model.metadata_props.add(key=key, value=value)
    onnx.save(model, str(path))


def _write_with_onnx_ops(reference: KerasBackend, checkpoint: Checkpoint, path: Path) -> str:
    """The graph of ``crnn.export.onnx_graph``; returns what made it."""
    import onnx

    from crnn.export.onnx_graph import write_onnx_graph

    weights = inference_weights(reference.model, checkpoint.model_config)
    write_onnx_graph(weights, checkpoint.geometry.height, path)
    return f"crnn.export.onnx_graph (onnx {onnx.__version__})"


def _write_with_keras(reference: KerasBackend, checkpoint: Checkpoint, path: Path) -> str:
    """Keras' ONNX export of the folded model, its log chatter kept out of the user's terminal."""
    try:
        import keras
        import tf2onnx
    except ImportError as exc:
        raise ExportError(f"Keras' ONNX export needs TensorFlow and tf2onnx: {exc}") from None
    predictor = reference.predictor
    height = checkpoint.geometry.height
    # the exporter traces a model that has run; one small batch builds it
    predictor.predict_on_batch(np.zeros((1, height, 64, 1), dtype=np.float32))
    for name in ("tf2onnx", "absl", "tensorflow"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tf2onnx's deprecation warnings about numpy are not the user's business
        predictor.export(str(path), format="onnx", verbose=False)
    return f"keras {keras.__version__} model.export ({keras.backend.backend()}), tf2onnx {tf2onnx.__version__}"


def _export(writer: Callable[[KerasBackend, Checkpoint, Path], str], format_name: str, checkpoint_dir: str | Path,
            parity_count: int, tolerance: float, synth_config: SynthConfig | None,
            lines: list[np.ndarray] | None) -> ExportReport:
    start = time.perf_counter()
    checkpoint = read_checkpoint(checkpoint_dir)
    try:
        import onnx  # noqa: F401  (fail here, in one line, without it)
    except ImportError as exc:
        raise ExportError(f"exporting needs the train extra (Keras, onnx): {exc}") from None
    try:
        reference = KerasBackend(checkpoint)
    except CheckpointError as exc:
        raise ExportError(str(exc)) from None
    if lines is None:
        lines = parity_lines(parity_count, checkpoint.geometry, synth_config)
    target = checkpoint.file("onnx")
    workdir = Path(tempfile.mkdtemp(prefix=".export-", dir=checkpoint.path))
    try:
        candidate_path = workdir / target.name
        try:
            made_with = writer(reference, checkpoint, candidate_path)
        except ExportError:
            raise
        except Exception as exc:
            text = str(exc).strip().splitlines()
            raise ExportError(f"the ONNX export failed: {text[0] if text else type(exc).__name__}") from None
        _set_metadata(candidate_path, {
            ONNX_SOURCE_SHA256: file_sha256(checkpoint.file("model")),
            ONNX_CHARSET: checkpoint.charset.to_json(),
            ONNX_HEIGHT: str(checkpoint.geometry.height),
            "crnn.width_quantum": str(checkpoint.width_quantum),
            "crnn.exported_with": made_with,
        })
        try:
            candidate = OnnxBackend(checkpoint, path=candidate_path)
        except CheckpointError as exc:
            raise ExportError(f"the exported model does not load: {exc}") from None
        parity = compare_backends(reference, candidate, checkpoint, lines)
        if not parity.passed(tolerance):
            examples = "; ".join(f"{a!r} vs {b!r}" for a, b in parity.examples[:2])
            raise ExportError(f"export refused, it does not read like the Keras model: {parity.summary()} "
                              f"(tolerance {tolerance:g}){'; e.g. ' + examples if examples else ''}; "
                              f"{target} left as it was")
        _set_metadata(candidate_path, {"crnn.parity": f"{parity.summary()}, tolerance {tolerance:g}"})
        os.replace(candidate_path, target)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return ExportReport(target, format_name, parity, tolerance, time.perf_counter() - start)


def export_onnx(checkpoint_dir: str | Path, parity_count: int = DEFAULT_PARITY_LINES,
                tolerance: float = DEFAULT_TOLERANCE, synth_config: SynthConfig | None = None,
                lines: list[np.ndarray] | None = None) -> ExportReport:
    """Export a checkpoint's model to ``model.onnx`` beside its ``model.keras``, if it reads the same.

    The graph uses ONNX's LSTM operator (``crnn.export.onnx_graph``). The candidate is compared
    with the Keras model on ``lines`` (default: ``parity_count`` synthetic validation lines drawn
    with ``synth_config``); unless every logit agrees within ``tolerance`` and every greedy text
    is identical it is discarded, an existing export is left as it was, and :class:`ExportError`
    says why.
    """
    return _export(_write_with_onnx_ops, "onnx", checkpoint_dir, parity_count, tolerance, synth_config, lines)


def export_onnx_with_keras(checkpoint_dir: str | Path, parity_count: int = DEFAULT_PARITY_LINES,
                           tolerance: float = DEFAULT_TOLERANCE, synth_config: SynthConfig | None = None,
                           lines: list[np.ndarray] | None = None) -> ExportReport:
    """As :func:`export_onnx`, with Keras' own ``model.export(format="onnx")`` (TensorFlow backend, tf2onnx)."""
    return _export(_write_with_keras, "onnx-keras", checkpoint_dir, parity_count, tolerance, synth_config, lines)


# format name -> exporter taking the checkpoint directory and the parity options
EXPORTERS: dict[str, Callable[..., ExportReport]] = {"onnx": export_onnx, "onnx-keras": export_onnx_with_keras}


def export_checkpoint(checkpoint_dir: str | Path, format: str = "onnx", **options) -> ExportReport:
    """Export with the exporter registered as ``format``; ``ValueError`` for an unknown one."""
    try:
        exporter = EXPORTERS[format]
    except KeyError:
        raise ValueError(f"unknown export format {format!r} (known: {', '.join(EXPORTERS)})") from None
    return exporter(checkpoint_dir, **options)
