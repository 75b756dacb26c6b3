"""Measuring: character and word error rates, page scores and reports, and the layout's line recall.

``metrics`` depends on nothing else in the project; ``layout_score`` uses the layout and the
synthetic pages, so it is imported on its own (``crnn.evaluation.layout_score``).
"""

from crnn.evaluation.metrics import (
    ErrorRate,
    LinePair,
    PageScore,
    align_lines,
    cer,
    character_errors,
    format_report,
    score_page,
    wer,
    word_errors,
)

__all__ = [
    "ErrorRate",
    "LinePair",
    "PageScore",
    "align_lines",
    "cer",
    "character_errors",
    "format_report",
    "score_page",
    "wer",
    "word_errors",
]
