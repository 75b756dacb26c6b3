"""Image processing shared by the layout and the synthetic data: grey-level statistics, paper flattening,
rotation with box mapping, and the one framing of a text line that training and reading both use."""

from crnn.imaging.framing import (
    EmptyLineError,
    LineGeometry,
    close_wide_gaps,
    frame_line,
    framed_width,
    line_extent,
    normalize_line,
    reopened_x,
    stroke_crossings,
    text_band,
)
from crnn.imaging.geometry import rotate, rotation_matrix, transform_box, transform_corners
from crnn.imaging.ops import (
    divide_by_paper,
    flatten_illumination,
    gray_percentiles,
    ink_mask,
    median,
    paper_background,
    percentile,
    shrink,
    to_gray,
)

__all__ = [
    "EmptyLineError",
    "LineGeometry",
    "close_wide_gaps",
    "divide_by_paper",
    "flatten_illumination",
    "frame_line",
    "framed_width",
    "gray_percentiles",
    "ink_mask",
    "line_extent",
    "median",
    "normalize_line",
    "paper_background",
    "percentile",
    "reopened_x",
    "rotate",
    "rotation_matrix",
    "shrink",
    "stroke_crossings",
    "text_band",
    "to_gray",
    "transform_box",
    "transform_corners",
]
