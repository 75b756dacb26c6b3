"""Setting a line of text in a book font with Pillow: glyphs rasterized once, placed by advances and kerning.

The layout is the one trdg produces with ``word_split=True`` (words kerned, spaces
stretched), drawn in one pass. Glyphs are rasterized once per font, size and
character and placed by their advances and the font's pair kerning, since
FreeType's hinting made drawing every glyph anew the slow part of a line; words
that a font may draw with ligatures (fi, fl, ff, ...) are still shaped and drawn
whole by Pillow. The caches live per process and are kept across shards.
"""

from __future__ import annotations

import itertools
import re
from dataclasses import dataclass

import cv2
import numpy as np

from crnn.synth.fonts import BookFont

_ADVANCE_EM = 1000  # the size at which advance widths are measured once per font file
_FONT_CACHE: dict[tuple[str, int], object] = {}
_ADVANCES: dict[str, tuple[object, dict[str, float]]] = {}  # per font file: the font at _ADVANCE_EM, advances
_KERNING: dict[str, dict[tuple[str, str], float]] = {}  # per font file: pair kerning in ems
_GLYPHS: dict[tuple[tuple[str, int], str], tuple[np.ndarray, int, int]] = {}  # rasterized glyphs
# words a font may shape with ligatures are drawn whole by Pillow (f followed by these letters)
_LIGATURE_PRONE = re.compile("f[bfhijklt]")


@dataclass
class Strikes:
    """How a typewriter strikes each key: the ink of a strike varies (its coverage times a factor
    from ``min_ink`` to 1, as a worn ribbon and an uneven touch give), the type bar lands up to
    ``jitter`` of the size above or below the line, and with ``double_p`` a key strikes twice a
    pixel or so apart. Draws from ``rng``."""

    rng: np.random.Generator
    min_ink: float = 0.55
    jitter: float = 0.04
    double_p: float = 0.05

    def strike(self, bitmap: np.ndarray, size: int) -> list[tuple[np.ndarray, int, int]]:
        """The stamps (coverage, x and y offset) that strike one glyph."""
        rng = self.rng
        ink = float(rng.uniform(self.min_ink, 1.0))
        reach = max(1, int(round(self.jitter * size)))
        dy = int(rng.integers(-reach, reach + 1))
        stamps = [((bitmap * ink).astype(np.uint8), 0, dy)]
        if rng.random() < self.double_p:
            offset = max(1, int(round(size * rng.uniform(0.02, 0.05))))
            stamps.append(((bitmap * ink * rng.uniform(0.3, 0.7)).astype(np.uint8),
                           int(rng.choice([-offset, offset])), dy + int(rng.integers(-1, 2))))
        return stamps


def _stamp(canvas: np.ndarray, bitmap: np.ndarray, x0: int, y0: int) -> None:
    """Ink ``bitmap`` onto ``canvas`` at (x0, y0), clipped at the canvas as Pillow clips what it draws."""
    h, w = canvas.shape
    cx0, cy0 = max(x0, 0), max(y0, 0)
    cx1, cy1 = min(x0 + bitmap.shape[1], w), min(y0 + bitmap.shape[0], h)
    if cx1 > cx0 and cy1 > cy0:
        region = canvas[cy0:cy1, cx0:cx1]
        np.maximum(region, bitmap[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0], out=region)


class Typesetter:
    """Draws lines of text as coverage images; holds no state of its own beyond the process-wide caches."""

    def _font(self, font: BookFont, size: int):
        from PIL import ImageFont

        key = (str(font.path), size)
        pil_font = _FONT_CACHE.get(key)
        if pil_font is None:
            pil_font = _FONT_CACHE[key] = ImageFont.truetype(str(font.path), size)
        return pil_font, key

    def render_alpha(self, text: str, font: BookFont, size: int, space: float,
                     small_caps_size: int = 0, strikes: Strikes | None = None,
                     letter_spacing: float = 0.0) -> np.ndarray:
        """The coverage (0-1) of ``text`` drawn in ``font`` at ``size`` px, spaces stretched by ``space``.

        With ``small_caps_size``, runs of lowercase letters are drawn as capitals of that size.
        With ``strikes``, every glyph is struck as a typewriter's key is (its own ink, height
        and sometimes a second strike) and no word is shaped: a typewriter has no ligatures.
        With ``letter_spacing`` (in ems), every glyph is followed by that much more room, as
        letter-spaced headings and emphasized words are set (German *Sperrsatz*): the letters
        of a word stand apart, the spaces between words widen by as much, and no word is shaped.
        """
        from PIL import Image, ImageDraw

        pil_font, key = self._font(font, size)
        small = self._font(font, small_caps_size) if small_caps_size else None
        pieces: list[tuple[str, object, tuple[str, int], float, bool]] = []  # (text, font, key, pen, shaped)
        x = 1.0
        spacing_px = letter_spacing * size
        space_px = self._word_length(key, " ") * space + spacing_px
        for word in text.split(" "):
            runs = small_caps_runs(word) if small else [(word, False)]
            for run, is_small in runs:
                run_font, run_key = small if is_small else (pil_font, key)
                drawn = run.upper() if is_small else run
                shaped = strikes is None and not spacing_px and _LIGATURE_PRONE.search(drawn) is not None
                pieces.append((drawn, run_font, run_key, x, shaped))
                x += self._word_length(run_key, drawn, kerned=not shaped) + spacing_px * len(drawn)
            x += space_px
        width = x - space_px - spacing_px - 1.0
        ascent, descent = pil_font.getmetrics()
        height = ascent + descent + 2
        canvas_width = max(int(np.ceil(width)) + 2, 1)
        if any(shaped for *_, shaped in pieces):
            image = Image.new("L", (canvas_width, height), 0)
            draw = ImageDraw.Draw(image)
            for drawn, run_font, _, pen, shaped in pieces:
                if shaped:
                    draw.text((pen, 1 + ascent), drawn, fill=255, font=run_font, anchor="ls")
            canvas = np.array(image)
        else:
            canvas = np.zeros((height, canvas_width), np.uint8)
        for drawn, run_font, run_key, pen, shaped in pieces:
            if not shaped:
                self._place_glyphs(canvas, drawn, run_font, run_key, pen, 1 + ascent, strikes, spacing_px)
        return canvas.astype(np.float32) * np.float32(1 / 255)

    def _place_glyphs(self, canvas: np.ndarray, word: str, pil_font, key: tuple[str, int], pen: float,
                      baseline: int, strikes: Strikes | None = None, spacing_px: float = 0.0) -> None:
        path, size = key
        _, advances = self._advance_table(path)
        previous = ""
        for char in word:
            if previous:
                pen += self._pair_kerning(path, previous, char) * size
            bitmap, dx, dy = self._glyph(pil_font, key, char)
            if bitmap.size:
                x0, y0 = int(round(pen)) + dx, baseline + dy
                if strikes is None:
                    _stamp(canvas, bitmap, x0, y0)
                else:
                    for struck, sx, sy in strikes.strike(bitmap, size):
                        _stamp(canvas, struck, x0 + sx, y0 + sy)
            pen += advances[char] * size + spacing_px
            previous = char

    @staticmethod
    def _glyph(pil_font, key: tuple[str, int], char: str) -> tuple[np.ndarray, int, int]:
        """A character's coverage bitmap and its offset from the pen position on the baseline."""
        glyph = _GLYPHS.get((key, char))
        if glyph is None:
            from PIL import Image, ImageDraw

            size = key[1]
            ascent, descent = pil_font.getmetrics()
            pad = size  # room for overhangs: italic tails, accents above the ascent
            image = Image.new("L", (4 * pad + 2, ascent + descent + 2 * pad), 0)  # advances stay below 2 em
            ImageDraw.Draw(image).text((pad, pad + ascent), char, fill=255, font=pil_font, anchor="ls")
            coverage = np.asarray(image)
            x, y, bw, bh = cv2.boundingRect(coverage)
            glyph = _GLYPHS[(key, char)] = (coverage[y : y + bh, x : x + bw].copy(), x - pad, y - pad - ascent)
        return glyph

    @staticmethod
    def _advance_table(path: str) -> tuple[object, dict[str, float]]:
        from PIL import ImageFont

        entry = _ADVANCES.get(path)
        if entry is None:
            entry = _ADVANCES[path] = (ImageFont.truetype(path, _ADVANCE_EM), {})
        return entry

    def _pair_kerning(self, path: str, first: str, second: str) -> float:
        """The font's kerning between two characters, in ems (what shaping the pair adds to their advances)."""
        kerning = _KERNING.setdefault(path, {})
        pair = (first, second)
        value = kerning.get(pair)
        if value is None:
            em_font, _ = self._advance_table(path)
            value = kerning[pair] = (em_font.getlength(first + second) / _ADVANCE_EM
                                     - self._word_length((path, 1), first) - self._word_length((path, 1), second))
        return value

    def _word_length(self, key: tuple[str, int], word: str, kerned: bool = False) -> float:
        # the sum of the characters' advances (and with ``kerned``, of the pair kerning).
        # Unhinted advances scale with the size, so one table per font file serves every size
        # (measuring each size anew would repeat the work for every font and size in every worker)
        path, size = key
        em_font, advances = self._advance_table(path)
        total = 0.0
        for char in word:
            advance = advances.get(char)
            if advance is None:
                advance = advances[char] = em_font.getlength(char) / _ADVANCE_EM
            total += advance
        if kerned and len(word) > 1:
            total += sum(self._pair_kerning(path, a, b) for a, b in itertools.pairwise(word))
        return total * size


def small_caps_runs(word: str) -> list[tuple[str, bool]]:
    """Split a word into runs of (text, drawn as a small capital)."""
    runs: list[tuple[str, bool]] = []
    for char in word:
        is_small = char.islower() and len(char.upper()) == 1
        if runs and runs[-1][1] == is_small:
            runs[-1] = (runs[-1][0] + char, is_small)
        else:
            runs.append((char, is_small))
    return runs
