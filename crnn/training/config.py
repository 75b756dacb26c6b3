"""Training parameters (``configs/train.yaml``), loaded into a frozen dataclass."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from crnn.recognize.model import ModelConfig


@dataclass(frozen=True)
class TrainConfig:
    """One training run: data, schedule, batching and the model's architecture.

    The model's input height is the data's line height (its manifest's geometry).
    """

    data: str = "data/synth/default"
    seed: int = 7
    batch_size: int = 32
    steps: int = 4400
    steps_per_epoch: int = 200
    learning_rate: float = 1.5e-3
    warmup_steps: int = 300
    final_learning_rate_fraction: float = 0.02
    clipnorm: float = 5.0
    validation_lines: int = 1000
    width_quantum: int = 32  # padded batch widths are multiples of this (fewer distinct shapes)
    bucket_batches: int = 20  # lines are sorted by width within groups of this many batches
    time_limit_minutes: float = 0.0  # stop (after the current epoch) past this; 0 means no limit
    # the mean of the weights at the ends of the run's last this many epochs (stochastic weight
    # averaging) is validated too, and becomes the best checkpoint where it validates better; 0: off
    average_last_epochs: int = 0
    model: ModelConfig = field(default_factory=ModelConfig)

    def __post_init__(self) -> None:
        if self.average_last_epochs < 0:
            raise ValueError("average_last_epochs must be 0 (off) or more")

    @property
    def total_epochs(self) -> int:
        return math.ceil(self.steps / self.steps_per_epoch)


class TrainingError(RuntimeError):
    """Training cannot start or continue (missing data, mismatched charset or checkpoint, NaN loss)."""
