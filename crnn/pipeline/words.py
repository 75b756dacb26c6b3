"""Word boxes from the frames the recognizer read each character at."""

from __future__ import annotations

from crnn.document import Box, Word
from crnn.imaging import reopened_x
from crnn.recognize.decoders import Decoded


def word_boxes(line_box: Box, decoded: Decoded, crop_width: int, frame_px: int, margin_px: float,
               closed_gaps: tuple[tuple[int, int], ...] = ()) -> list[Word]:
    """The words of a decoded line, with boxes mapped from frames back onto the line's box.

    The crop shows the line's ink box plus ``margin_px`` on each side, scaled to ``crop_width``,
    with the wide gaps ``closed_gaps`` narrowed (``crnn.imaging.close_wide_gaps``); a frame covers
    ``frame_px`` crop pixels. A word's confidence is its least confident character's.
    """
    inner = max(crop_width + sum(removed for _, removed in closed_gaps) - 2 * margin_px, 1.0)

    def to_x(crop_x: float) -> int:
        relative = min(max((reopened_x(crop_x, closed_gaps) - margin_px) / inner, 0.0), 1.0)
        return line_box.x0 + int(round(relative * line_box.width))

    words: list[Word] = []
    start = None
    for i, character in enumerate([*decoded.text, " "]):
        if character != " " and start is None:
            start = i
        elif character == " " and start is not None:
            first, last = decoded.spans[start][0], decoded.spans[i - 1][1]
            x0, x1 = to_x(first * frame_px), to_x((last + 1) * frame_px)
            confidence = min(decoded.char_confidences[start:i])
            words.append(Word(decoded.text[start:i], Box(x0, line_box.y0, max(x1, x0 + 1), line_box.y1),
                              round(confidence, 4)))
            start = None
    return words
