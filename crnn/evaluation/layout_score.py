"""How well the layout finds the lines of generated pages whose line boxes are known."""

from __future__ import annotations

from dataclasses import dataclass

from crnn.layout import LayoutConfig, segment_page
from crnn.synth.pages import PageGenerator


@dataclass(frozen=True)
class LayoutScore:
    """Line recall and precision at IoU >= 0.5 (one-to-one), and lines found inside illustrations."""

    pages: int
    recall: float
    precision: float
    lines_inside_illustrations: int


def score_layout(seeds: range | list[int], config: LayoutConfig = LayoutConfig()) -> LayoutScore:
    """Score :func:`crnn.layout.segment_page` on the pages :class:`PageGenerator` makes for ``seeds``."""
    hits = misses = extras = inside = 0
    for seed in seeds:
        page = PageGenerator(seed).generate()
        found = [line.box for line in segment_page(page.image, config).lines]
        used: set[int] = set()
        for truth in page.lines:
            best = max(((truth.box.iou(b), i) for i, b in enumerate(found) if i not in used), default=(0.0, -1))
            if best[0] >= 0.5:
                used.add(best[1])
                hits += 1
            else:
                misses += 1
        extras += len(found) - len(used)
        inside += sum(page.inside_illustration(b) for b in found)
    return LayoutScore(len(seeds), hits / max(hits + misses, 1), hits / max(hits + extras, 1), inside)
