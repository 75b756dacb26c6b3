"""Plain text: the page's lines in reading order, one per line."""

from __future__ import annotations

from crnn.document import Page


def to_text(page: Page) -> str:
    """The page's lines in reading order, one per line."""
    return "".join(line.text + "\n" for line in page.lines)
