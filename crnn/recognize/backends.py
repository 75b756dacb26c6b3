"""Recognizer backends: what runs the model. Each turns a float image batch into logits.

:data:`BACKENDS` maps a name to a factory taking a :class:`~crnn.recognize.checkpoint.Checkpoint`.
A new runtime (ONNX Runtime, say) is one more class with a ``logits`` method and one
more entry here.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

import numpy as np

from crnn.recognize.architectures import inference_model
from crnn.recognize.checkpoint import Checkpoint, CheckpointError


class Backend(Protocol):
    """Runs one checkpoint's model."""

    def logits(self, images: np.ndarray) -> np.ndarray:
        """Logits ``(batch, frames, classes)`` for images ``(batch, height, width, 1)``, ink 1, paper 0."""
        ...


class KerasBackend:
    """The ``.keras`` model under Keras 3 (any of its backends), batch normalizations folded."""

    def __init__(self, checkpoint: Checkpoint) -> None:
        import keras

        import crnn.recognize.layers  # noqa: F401  (registers the custom layers for load_model)

        path = checkpoint.file("model")
        try:
            self.model = keras.saving.load_model(path, compile=False, safe_mode=True)
        except Exception as exc:
            reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CheckpointError(f"cannot load {path}: {reason}") from None
        classes = int(self.model.output_shape[-1])
        if classes != checkpoint.charset.num_classes:
            raise CheckpointError(
                f"checkpoint {checkpoint.path}: the model outputs {classes} classes but its charset has "
                f"{checkpoint.charset.num_classes} (characters + blank)"
            )
        self.checkpoint = checkpoint
        self._predictor: Any = None

    def logits(self, images: np.ndarray) -> np.ndarray:
        if self._predictor is None:
            # batch normalization folded into the convolutions: the same logits, faster
            self._predictor = inference_model(self.model, self.checkpoint.model_config,
                                              self.checkpoint.geometry.height)
        # predict_on_batch runs a traced graph (one trace serves all widths after the first
        # few); calling the model eagerly would step the LSTMs in Python, many times slower
        return np.asarray(self._predictor.predict_on_batch(images))


BACKENDS: dict[str, Callable[[Checkpoint], Backend]] = {"keras": KerasBackend}


def load_backend(checkpoint: Checkpoint, name: str = "keras") -> Backend:
    """The backend called ``name`` for ``checkpoint``; ``ValueError`` for an unknown name."""
    try:
        factory = BACKENDS[name]
    except KeyError:
        raise ValueError(f"unknown backend {name!r} (known: {', '.join(BACKENDS)})") from None
    return factory(checkpoint)
