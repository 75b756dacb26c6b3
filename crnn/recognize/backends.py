"""Recognizer backends: what runs the model. Each turns a float image batch into logits.

:data:`BACKENDS` maps a name to a factory taking a :class:`~crnn.recognize.checkpoint.Checkpoint`:

- ``onnx``: the checkpoint's ``model.onnx`` under ONNX Runtime. It needs neither TensorFlow
  nor Keras, so a process that reads pages with it starts in a fraction of the time and memory.
- ``keras``: the ``.keras`` model under Keras 3 (any of its backends), batch normalizations folded.

:func:`load_backend` with ``"auto"`` (the default everywhere) takes ``onnx`` when the checkpoint
has a ``model.onnx`` and ``keras`` otherwise. An ONNX file that is corrupt, made for another
charset or exported from another ``model.keras`` than the one beside it is refused with a
one-line :class:`CheckpointError`; with ``auto`` the Keras model is used instead, with a
warning, when Keras is installed.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from crnn.recognize.checkpoint import Checkpoint, CheckpointError, file_sha256
from crnn.threads import default_threads as threads_for_reading

# what an exported ONNX model records about its source (``metadata_props``), checked when it is loaded
ONNX_SOURCE_SHA256 = "crnn.source_sha256"  # SHA-256 of the model.keras it was exported from
ONNX_CHARSET = "crnn.charset"  # the charset's JSON
ONNX_HEIGHT = "crnn.height"  # line height in pixels


class Backend(Protocol):
    """Runs one checkpoint's model."""

    name: str

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Logits ``(batch, frames, classes)`` for images ``(batch, height, width, 1)``, ink 1, paper 0."""
        ...


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


class KerasBackend:
    """The ``.keras`` model under Keras 3 (any of its backends), batch normalizations folded."""

    name = "keras"

    def __init__(self, checkpoint: Checkpoint) -> None:
        try:
            import keras

            import crnn.recognize.layers  # noqa: F401  (registers the custom layers for load_model)
        except ImportError as exc:
            raise CheckpointError(f"the keras backend needs Keras and TensorFlow (the train extra): {exc}") from None

        path = checkpoint.file("model")
        import zipfile

        if not zipfile.is_zipfile(path):  # Keras would call a damaged file "not found"
            raise CheckpointError(f"cannot load {path}: not a Keras model file (damaged or truncated)")
        try:
            self.model = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:
            raise CheckpointError(f"cannot load {path}: {_first_line(exc)}") from None
        classes = int(self.model.output_shape[-1])
        if classes != checkpoint.charset.num_classes:
            raise CheckpointError(
                f"checkpoint {checkpoint.path}: the model outputs {classes} classes but its charset has "
                f"{checkpoint.charset.num_classes} (characters + blank)"
            )
        self.checkpoint = checkpoint
        self._predictor: Any = None

    @property
    def predictor(self) -> Any:
        """The prediction-only Keras model (batch normalizations folded), built on first use."""
        if self._predictor is None:
            from crnn.recognize.architectures import inference_model

            self._predictor = inference_model(self.model, self.checkpoint.model_config,
                                              self.checkpoint.geometry.height)
        return self._predictor

    def logits(self, images: np.ndarray) -> np.ndarray:
        # predict_on_batch runs a traced graph (one trace serves all widths after the first
        # few); calling the model eagerly would step the LSTMs in Python, many times slower
        return np.asarray(self.predictor.predict_on_batch(images))


def default_threads() -> int:
    """Intra-op threads for ONNX Runtime: :func:`crnn.threads.default_threads` (``CRNN_THREADS``
    if set, else the cores this process may use, at most 2); ``CheckpointError`` for a bad setting."""
    try:
        return threads_for_reading()
    except ValueError as exc:
        raise CheckpointError(str(exc)) from None


class OnnxBackend:
    """The checkpoint's ``model.onnx`` under ONNX Runtime on the CPU; imports neither TensorFlow nor Keras."""

    name = "onnx"

    def __init__(self, checkpoint: Checkpoint, threads: int | None = None, path: str | Path | None = None) -> None:
        """Load ``path`` (default: the checkpoint's ``model.onnx``) with ``threads`` intra-op threads
        (default :func:`default_threads`)."""
        path = Path(path) if path is not None else checkpoint.file("onnx")
        if not path.is_file():
            raise CheckpointError(f"{path} not found: the checkpoint has no ONNX export (make it with `make export`)")
        try:
            import onnxruntime as ort
        except ImportError as exc:
            raise CheckpointError(f"the onnx backend needs onnxruntime: {exc}") from None
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads or default_threads()
        options.inter_op_num_threads = 1
        options.log_severity_level = 3  # errors only: a refused model is reported by us, in one line
        try:
            self.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as exc:
            raise CheckpointError(f"cannot load {path}: {_first_line(exc)}") from None
        self._check_source(path, checkpoint, self.session.get_modelmeta().custom_metadata_map)
        self.input_name = self.session.get_inputs()[0].name
        self.checkpoint = checkpoint
        self.path = path

    @staticmethod
    def _check_source(path: Path, checkpoint: Checkpoint, metadata: dict[str, str]) -> None:
        """Refuse an export that does not belong to this checkpoint's charset and ``model.keras``."""
        if metadata.get(ONNX_CHARSET) is None or metadata.get(ONNX_SOURCE_SHA256) is None:
            raise CheckpointError(f"{path} has no crnn export metadata (charset, source model): "
                                  "export it again with `make export`")
        from crnn.charset import Charset

        try:
            charset = Charset.from_json(metadata[ONNX_CHARSET])
        except (ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path} has an unreadable charset in its metadata: {exc}") from None
        if charset != checkpoint.charset:
            raise CheckpointError(f"{path} was exported for another charset than {checkpoint.file('charset')}")
        if metadata.get(ONNX_HEIGHT) != str(checkpoint.geometry.height):
            raise CheckpointError(f"{path} reads lines {metadata.get(ONNX_HEIGHT)} px high, the checkpoint "
                                  f"{checkpoint.geometry.height} px")
        keras_file = checkpoint.file("model")
        if keras_file.is_file() and file_sha256(keras_file) != metadata[ONNX_SOURCE_SHA256]:
            raise CheckpointError(f"{path} is stale: it was exported from another model than {keras_file} "
                                  "(export it again with `make export`)")

    def logits(self, images: np.ndarray) -> np.ndarray:
        return self.session.run(None, {self.input_name: np.ascontiguousarray(images, dtype=np.float32)})[0]


BACKENDS: dict[str, Callable[[Checkpoint], Backend]] = {"onnx": OnnxBackend, "keras": KerasBackend}
# the choice of load_backend's default: onnx when the checkpoint has an export, else keras
AUTO = "auto"


def keras_installed() -> bool:
    """True when Keras can be imported (the ``train`` extra); found without importing it."""
    return importlib.util.find_spec("keras") is not None


def load_backend(checkpoint: Checkpoint, name: str = AUTO) -> Backend:
    """The backend called ``name`` for ``checkpoint`` (``auto``: see the module docstring).

    ``ValueError`` for an unknown name, ``CheckpointError`` (one line) when the model cannot be loaded.
    """
    if name == AUTO:
        if not checkpoint.file("onnx").is_file():
            return KerasBackend(checkpoint)
        try:
            return OnnxBackend(checkpoint)
        except CheckpointError as exc:
            if not (keras_installed() and checkpoint.file("model").is_file()):
                raise
            import logging  # only here: a reading start-up without it is a little faster

            logging.getLogger(__name__).warning("warning: %s; reading with the keras backend instead", exc)
            return KerasBackend(checkpoint)
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r} (known: {', '.join([AUTO, *BACKENDS])})") from None
    return factory(checkpoint)
