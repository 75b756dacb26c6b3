"""Synthetic text-line images that look like lines cut from photographed or scanned book pages.

One sample: a text line (``crnn.synth.text``) set in a book font that has every
glyph of it (``crnn.synth.typeset``, or trdg), then degraded
(``crnn.synth.degrade``: ink weight, margins, warps, baseline curl, paper,
lighting, camera, sometimes a 1-bit scan), and finally framed by
``crnn.imaging.normalize_line``, the function the page layout uses too.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass

import numpy as np

from crnn.charset import Charset
from crnn.imaging import EmptyLineError, normalize_line
from crnn.synth.compat import install_pillow_getsize
from crnn.synth.config import RenderConfig, SynthConfig
from crnn.synth.degrade import Degrader, framed_as_drawn
from crnn.synth.fonts import BookFont, book_fonts, can_render, typewriter_fonts
from crnn.synth.typeset import Strikes, Typesetter, small_caps_runs


@dataclass(frozen=True)
class LineSample:
    """One synthetic line: the normalized image, its label and the font it was drawn in."""

    image: np.ndarray  # uint8, geometry.height rows, ink dark
    text: str
    font: str


def seed_for(*parts: object) -> int:
    """A 31-bit seed derived from ``parts`` (stable across processes and runs)."""
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF


def select_fonts(config: RenderConfig) -> list[BookFont]:
    """The installed book fonts the config asks for (all of them by default), and the typewriter
    fonts when it types some lines."""
    fonts = book_fonts(list(config.font_packages) if config.font_packages else None)
    if not fonts:
        raise RuntimeError("no book fonts installed (run `make install`)")
    if config.typewriter_p > 0:
        typewriters = typewriter_fonts()
        if not typewriters:
            raise RuntimeError("typewriter_p is set but no typewriter font is installed (run `make install`)")
        fonts += typewriters
    return fonts


class LineRenderer:
    """Renders and degrades lines; deterministic for a seed."""

    def __init__(self, config: SynthConfig, fonts: list[BookFont], seed: int) -> None:
        install_pillow_getsize()
        from trdg.computer_text_generator import generate

        self._generate = generate
        self._charset = Charset()
        self.config = config
        self.fonts = [f for f in fonts if not f.typewriter]
        self.typewriters = [f for f in fonts if f.typewriter]
        self.rng = np.random.default_rng(seed)
        self.typesetter = Typesetter()
        self.degrader = Degrader(config.degrade, self.rng, seed_for(seed, "paper texture"),
                                 seed_for(seed, "geometric"), seed_for(seed, "photometric"))
        self._font_cumulative = self._style_cumulative(self.fonts)
        self._typewriter_cumulative = self._style_cumulative(self.typewriters)

    def _style_cumulative(self, fonts: list[BookFont]) -> np.ndarray:
        if not fonts:
            return np.zeros(0)
        weights = np.array([self.config.render.style_weights.get(f.style, 0.0) for f in fonts])
        # every family equally likely within a style
        per_style = Counter(f.style for f in fonts)
        weights = weights / np.array([per_style[f.style] for f in fonts])
        return np.cumsum(weights / weights.sum())

    def _pick_font(self, text: str, typewriter: bool = False) -> BookFont | None:
        fonts, cumulative = ((self.typewriters, self._typewriter_cumulative) if typewriter
                             else (self.fonts, self._font_cumulative))
        first = int(np.searchsorted(cumulative, self.rng.random() * cumulative[-1]))
        first = min(first, len(fonts) - 1)
        for offset in range(len(fonts)):
            font = fonts[(first + offset) % len(fonts)]
            if can_render(font, text):
                return font
        return None

    def _render_alpha(self, text: str, font: BookFont, small_caps: bool) -> np.ndarray:
        r = self.config.render
        size = int(self.rng.integers(r.min_font_px, r.max_font_px + 1))
        if self.rng.random() < r.wide_space_p:
            space = float(self.rng.uniform(r.max_space_width, r.max_wide_space_width))
        else:
            space = float(self.rng.uniform(r.min_space_width, r.max_space_width))
        if r.backend == "trdg":
            image, _ = self._generate(text, str(font.path), "#000000", size, 0, space, 0, False, True)
            return np.asarray(image, dtype=np.uint8)[:, :, 3].astype(np.float32) / 255.0
        if font.typewriter:
            # a typewriter moves one character per space: one or two of them between words
            space = 2.0 if self.rng.random() < 0.15 else 1.0
            strikes = Strikes(self.rng, r.typewriter_min_ink, r.typewriter_jitter, r.typewriter_double_strike_p)
            alpha = self.typesetter.render_alpha(text, font, size, space, strikes=strikes)
            if self.rng.random() < r.ribbon_fade_p:
                alpha = self._ribbon_fade(alpha)
            return alpha
        small_size = int(round(size * self.rng.uniform(0.68, 0.8))) if small_caps else 0
        letter_spacing = 0.0
        if r.letter_spaced_p and self.rng.random() < r.letter_spaced_p:  # no draw when off: old sets stay as made
            letter_spacing = float(self.rng.uniform(r.min_letter_spacing, r.max_letter_spacing))
        return self.typesetter.render_alpha(text, font, size, space, small_size, letter_spacing=letter_spacing)

    def _ribbon_fade(self, alpha: np.ndarray) -> np.ndarray:
        """A ribbon's ink rising and falling along the line (a worn stretch struck lighter)."""
        width = alpha.shape[1]
        depth = self.rng.uniform(0.15, 0.5)
        period = width * self.rng.uniform(0.4, 1.5)
        phase = self.rng.uniform(0, 2 * np.pi)
        fade = 1 - depth * 0.5 * (1 + np.sin(phase + 2 * np.pi * np.arange(width) / period))
        return alpha * fade.astype(np.float32)[None, :]

    def render(self, text: str) -> LineSample | None:
        """One degraded, normalized line image of ``text``; None if no font can draw it or it came out illegible."""
        small_caps = (self.config.render.backend == "pillow" and any(c.islower() for c in text)
                      and self.rng.random() < self.config.render.small_caps_p)
        if small_caps:
            # small capitals are capitals: the label says what the glyphs show (a line set all in
            # small caps could not tell lowercase from capitals otherwise)
            label = "".join(run.upper() if small else run for run, small in small_caps_runs(text))
            small_caps = self._charset.can_encode(label)
        typewriter = (bool(self.typewriters) and self.config.render.backend == "pillow"
                      and self.rng.random() < self.config.render.typewriter_p)
        if typewriter:
            small_caps = False  # a typewriter has no small capitals
        font = self._pick_font(text + label if small_caps else text, typewriter)
        if font is None:
            return None
        degrader = self.degrader
        alpha = self._render_alpha(text, font, small_caps)
        text_height = alpha.shape[0]
        alpha = degrader.ink_weight(alpha, text_height)
        alpha = degrader.add_margins(alpha, text_height)
        alpha = degrader.warp(alpha)
        if self.rng.random() < self.config.degrade.curl_p:
            alpha = degrader.curl(alpha, text_height)
        image = degrader.paper_and_ink(np.clip(alpha, 0, 1))
        image = degrader.camera(image)
        if self.rng.random() < self.config.degrade.binarize_p:
            image = degrader.scan_1bit(image, alpha, text_height)
        try:
            line = normalize_line(image, self.config.geometry)
        except EmptyLineError:
            return None
        if not framed_as_drawn(alpha, line.shape[1], self.config.geometry):
            return None
        return LineSample(line, label if small_caps else text, font.name)
