"""Validation during training: greedy-decoded CER and exact-line rate on held-out lines."""

from __future__ import annotations

from typing import Any

import numpy as np

from crnn.charset import Charset
from crnn.evaluation.metrics import character_errors
from crnn.recognize.batching import width_sorted_batches
from crnn.recognize.decoders import greedy_decode_batch
from crnn.recognize.model import ModelConfig, logit_lengths, prepare_images
from crnn.training.batches import LineSet


def evaluate(model: Any, lines: LineSet, charset: Charset, model_config: ModelConfig, width_quantum: int,
             batch_size: int = 64) -> dict[str, float]:
    """Greedy-decoded CER (micro) and exact-line rate of ``model`` on ``lines`` (padded as in training)."""
    hypotheses: dict[int, str] = {}
    for idx in width_sorted_batches(lines.widths, batch_size):
        images, widths = prepare_images([lines.images[i] for i in idx], width_quantum=width_quantum)
        logits = np.asarray(model.predict_on_batch(images))
        decoded = greedy_decode_batch(logits, logit_lengths(widths, model_config), charset)
        for i, d in zip(idx, decoded, strict=True):
            hypotheses[int(i)] = d.text
    hyps = [hypotheses[i] for i in range(len(lines.labels))]
    errors = character_errors(lines.labels, hyps)
    exact = sum(h == r for h, r in zip(hyps, lines.labels, strict=True)) / len(hyps)
    return {"val_cer": errors.rate, "val_exact": exact}
