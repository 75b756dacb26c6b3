"""Batches of lines of similar width: padding every line to the widest of all wastes compute."""

from __future__ import annotations

import numpy as np


def width_sorted_batches(widths: np.ndarray | list[int], batch_size: int) -> list[np.ndarray]:
    """Indices of the lines, sorted by width (stably), cut into batches of at most ``batch_size``."""
    order = np.argsort(np.asarray(widths), kind="stable")
    return [order[start : start + batch_size] for start in range(0, len(order), batch_size)]
