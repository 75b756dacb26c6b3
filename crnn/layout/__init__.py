"""Page layout: from a photographed or scanned page to text lines in reading order.

The steps, one module each: ``binarize`` (Otsu on the illumination-flattened
page, confirmed by Sauvola), ``deskew`` (the angle that makes the horizontal
projection profile sharpest), ``spread`` (a two-page spread split at its
gutter), ``components`` (illustrations, rules and specks removed by
connected-component statistics relative to the page's own character height),
``profiles`` and ``lines`` (text lines cut by horizontal projection profiles,
tall bands split at their profile minimum, each line framed by
``crnn.imaging.normalize_line``), ``page`` (the orchestration) and ``debug``
(pictures). Every threshold is in ``config``.
"""

from crnn.layout.config import LayoutConfig
from crnn.layout.debug import save_debug
from crnn.layout.lines import narrow_wide_gaps
from crnn.layout.page import (
    BlockRegion,
    LayoutAnalysis,
    LayoutError,
    LayoutResult,
    LineRegion,
    central_line_rows,
    segment_page,
    straighten_line,
)

__all__ = [
    "BlockRegion",
    "LayoutAnalysis",
    "LayoutConfig",
    "LayoutError",
    "LayoutResult",
    "LineRegion",
    "central_line_rows",
    "narrow_wide_gaps",
    "save_debug",
    "segment_page",
    "straighten_line",
]
