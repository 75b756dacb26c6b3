"""Training the recognizer: config, batches, CTC loss, validation, provenance, the learning curve, the loop."""

from crnn.training.config import TrainConfig, TrainingError
from crnn.training.loop import train

__all__ = ["TrainConfig", "TrainingError", "train"]
