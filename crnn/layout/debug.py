"""Debug pictures of a layout: boxes drawn on the page, the binarized page, the projection profiles."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from crnn.document import Box, Page
from crnn.layout.page import LayoutAnalysis, LayoutResult


def save_debug(layout: LayoutResult, directory: str | Path, stem: str = "page", page: Page | None = None) -> list[Path]:
    """Write ``stem.lines.png`` (blocks, numbered lines and illustrations drawn on the page),
    ``stem.binary.png`` (the ink mask beside the text mask) and ``stem.profile.png``.

    With ``page`` (the recognized page), the blocks and lines drawn are the ones it kept.
    """
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    if page is not None:
        block_boxes = [block.box for block in page.blocks]
        line_boxes = [line.box for line in page.lines]
    else:
        block_boxes = [block.box for block in layout.blocks]
        line_boxes = [line.box for line in layout.lines]
    written.append(directory / f"{stem}.lines.png")
    cv2.imwrite(str(written[-1]), _overlay(layout.analysis.gray, layout.illustration_boxes, block_boxes, line_boxes))
    written.append(directory / f"{stem}.binary.png")
    binary = np.where(layout.analysis.binary, 0, 255).astype(np.uint8)
    text = np.where(layout.analysis.text_mask, 0, 255).astype(np.uint8)
    cv2.imwrite(str(written[-1]), np.hstack([binary, np.full((binary.shape[0], 8), 128, np.uint8), text]))
    if layout.analysis.profiles:
        written.append(directory / f"{stem}.profile.png")
        _plot_profiles(layout.analysis, written[-1])
    return written


def _overlay(gray: np.ndarray, illustrations: tuple[Box, ...], blocks: list[Box], lines: list[Box]) -> np.ndarray:
    overlay = cv2.cvtColor(gray, cv2.COLOR_GRAY2BGR)
    for box in illustrations:
        cv2.rectangle(overlay, (box.x0, box.y0), (box.x1, box.y1), (0, 0, 220), 2)
    for b in blocks:
        cv2.rectangle(overlay, (b.x0 - 4, b.y0 - 4), (b.x1 + 4, b.y1 + 4), (220, 120, 0), 2)
    for number, b in enumerate(lines, 1):
        cv2.rectangle(overlay, (b.x0, b.y0), (b.x1, b.y1), (0, 170, 0), 1)
        cv2.putText(overlay, str(number), (max(0, b.x0 - 28), b.y1 - 2), cv2.FONT_HERSHEY_SIMPLEX, 0.5,
                    (0, 120, 0), 1, cv2.LINE_AA)
    return overlay


def _plot_profiles(analysis: LayoutAnalysis, path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    count = len(analysis.profiles)
    fig, axes = plt.subplots(1, count, figsize=(4 * count, 8), squeeze=False)
    for ax, profile, bands in zip(axes[0], analysis.profiles, analysis.bands, strict=True):
        rows = np.arange(len(profile))
        ax.plot(profile, rows, color="black", linewidth=0.8)
        for top, bottom in bands:
            ax.axhspan(top, bottom, color="tab:green", alpha=0.25)
        ax.invert_yaxis()
        ax.set_xlabel("ink pixels per row")
        ax.set_ylabel("row (analysis scale)")
    fig.suptitle(f"horizontal projection profiles (skew {analysis.skew_degrees:.2f}°)")
    fig.tight_layout()
    fig.savefig(path, dpi=80)
    plt.close(fig)
