"""Do two backends read the same? Logits and greedy text compared on synthetic validation lines."""

from __future__ import annotations

from dataclasses import dataclass, field, replace

import numpy as np

from crnn.imaging import LineGeometry
from crnn.recognize.backends import Backend
from crnn.recognize.batching import width_sorted_batches
from crnn.recognize.checkpoint import Checkpoint
from crnn.recognize.decoders import greedy_decode_batch
from crnn.recognize.model import logit_lengths, prepare_images
from crnn.synth.config import SynthConfig


def parity_lines(count: int, geometry: LineGeometry, config: SynthConfig | None = None,
                 seed: int = 20261201) -> list[np.ndarray]:
    """``count`` synthetic validation-split lines framed with ``geometry`` (deterministic for a seed)."""
    from crnn.synth.dataset import generate_lines
    from crnn.synth.render import select_fonts

    config = replace(config or SynthConfig(), geometry=geometry, seed=seed)
    fonts = select_fonts(config.render)
    return [sample.image for sample in generate_lines(config, "validation", 0, count, fonts)]


@dataclass(frozen=True)
class ParityReport:
    """How far a candidate backend's logits lie from a reference backend's on the same lines."""

    lines: int
    max_abs_difference: float  # over every frame of every line (padding frames excluded)
    text_mismatches: int  # lines whose greedy text differs
    examples: tuple[tuple[str, str], ...] = field(default=())  # (reference, candidate) texts that differ

    def passed(self, tolerance: float) -> bool:
        """True when every logit agrees within ``tolerance`` and every greedy text is identical."""
        return self.max_abs_difference <= tolerance and self.text_mismatches == 0

    def summary(self) -> str:
        return (f"{self.lines} lines: max |logit difference| {self.max_abs_difference:.2e}, "
                f"{self.text_mismatches} greedy texts differ")


def compare_backends(reference: Backend, candidate: Backend, checkpoint: Checkpoint, lines: list[np.ndarray],
                     batch_size: int = 32) -> ParityReport:
    """Run both backends on the same batches of ``lines`` (batched and padded as the recognizer does)."""
    worst = 0.0
    mismatches: list[tuple[str, str]] = []
    for indices in width_sorted_batches([line.shape[1] for line in lines], batch_size):
        images, widths = prepare_images([lines[i] for i in indices], width_quantum=checkpoint.width_quantum)
        lengths = logit_lengths(widths, checkpoint.model_config)
        expected, actual = reference.logits(images), candidate.logits(images)
        if expected.shape != actual.shape:
            raise ValueError(f"the backends disagree on the logit shape: {expected.shape} vs {actual.shape}")
        for row, length in enumerate(lengths):
            worst = max(worst, float(np.abs(expected[row, :length] - actual[row, :length]).max(initial=0.0)))
        texts = zip(greedy_decode_batch(expected, lengths, checkpoint.charset),
                    greedy_decode_batch(actual, lengths, checkpoint.charset), strict=True)
        mismatches += [(a.text, b.text) for a, b in texts if a.text != b.text]
    return ParityReport(len(lines), worst, len(mismatches), tuple(mismatches[:5]))
