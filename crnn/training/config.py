"""Training parameters (``configs/train.yaml``), loaded into a frozen dataclass."""

from __future__ import annotations

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
    model: ModelConfig = field(default_factory=ModelConfig)


class TrainingError(RuntimeError):
    """Training cannot start or continue (missing data, mismatched charset or checkpoint, NaN loss)."""
