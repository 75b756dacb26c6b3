"""Synthetic text-line images that look like lines cut from photographed book pages.

One sample: a text line (``crnn.textgen``) rendered with trdg in a book font
that has every glyph of it, thickened or thinned, given margins, warped
(rotation, shear, perspective, baseline curl), composed on paper of random tint,
texture and illumination, degraded by albumentations (blur, noise, JPEG,
down-sampling), sometimes binarized like a 1-bit scan, and finally framed by
``crnn.lines.normalize_line``, the function the page segmenter uses too.

Data sets are written as shards (``shard-train-00000.npz``) that ``numpy.load``
reads; a shard is written to a temporary name and renamed when complete, and
its bytes depend only on the config, the seed and the shard index.
"""

from __future__ import annotations

import hashlib
import io
import itertools
import json
import os
import re
import sys
import zipfile
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np

import crnn  # noqa: F401  (sets NO_ALBUMENTATIONS_UPDATE before albumentations is imported)
from crnn.charset import Charset
from crnn.compat import install_pillow_getsize
from crnn.config import to_dict
from crnn.fonts import BookFont, book_fonts, can_render
from crnn.lines import EmptyLineError, LineGeometry, flatten_illumination, framed_width, normalize_line, text_band
from crnn.textgen import LineTextGenerator, TextConfig

SHARD_FORMAT_VERSION = 2
# Shards store 32 grey levels: the data set shrinks by ~40% (the sensor-like noise of the
# degradations is what deflate cannot squeeze), and the rounding error (at most 4 of 255)
# is below the noise the degradations add anyway.
STORED_GRAY_LEVELS = 32


@dataclass(frozen=True)
class RenderConfig:
    """Font choice and size. Style weights: how often each style is drawn."""

    backend: str = "pillow"  # "trdg" (computer_text_generator) or "pillow" (one draw call per line)
    font_packages: tuple[str, ...] = ()  # empty: every installed book font package
    style_weights: dict[str, float] = field(
        default_factory=lambda: {"regular": 0.74, "italic": 0.12, "bold": 0.08, "semibold": 0.03,
                                 "bold-italic": 0.03}
    )
    min_font_px: int = 18
    max_font_px: int = 40
    min_space_width: float = 0.85  # word spacing as a multiple of the font's space: justified lines stretch it
    max_space_width: float = 2.0
    wide_space_p: float = 0.0  # share of lines justified loosely, spaces up to max_wide_space_width
    max_wide_space_width: float = 4.0
    small_caps_p: float = 0.0  # lowercase drawn as small capitals, labelled as capitals (pillow backend)


@dataclass(frozen=True)
class DegradeConfig:
    """Probabilities and ranges of each degradation."""

    ink_thicken_p: float = 0.25
    ink_thin_p: float = 0.15
    neighbour_fragments_p: float = 0.3
    rotate_deg: float = 1.2
    shear_deg: float = 4.0
    affine_p: float = 0.5
    perspective_p: float = 0.25
    curl_p: float = 0.3
    curl_amplitude: float = 0.08  # fraction of the text height
    paper_min: int = 140
    paper_max: int = 250
    ink_max: int = 110
    illumination_p: float = 0.6
    texture_p: float = 0.6
    gaussian_blur_p: float = 0.35
    motion_blur_p: float = 0.1
    downscale_p: float = 0.3
    noise_p: float = 0.5
    jpeg_p: float = 0.5
    binarize_p: float = 0.12


@dataclass(frozen=True)
class SynthConfig:
    """A synthetic line data set: what to write, how many, and how each line looks."""

    name: str = "default"
    seed: int = 1234
    num_lines: int = 20000
    validation_fraction: float = 0.05
    shard_size: int = 1000
    sample_pngs: int = 64
    geometry: LineGeometry = LineGeometry()
    text: TextConfig = TextConfig()
    render: RenderConfig = RenderConfig()
    degrade: DegradeConfig = DegradeConfig()


@dataclass(frozen=True)
class LineSample:
    image: np.ndarray  # uint8, geometry.height rows, ink dark
    text: str
    font: str


def _seed_for(*parts: object) -> int:
    digest = hashlib.sha256("/".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "little") & 0x7FFF_FFFF


def split_of(text: str, validation_fraction: float) -> str:
    """'train' or 'validation', decided by the text alone, so the splits never share a line."""
    bucket = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little") / 2**32
    return "validation" if bucket < validation_fraction else "train"


_ADVANCE_EM = 1000  # the size at which advance widths are measured once per font file
_TEXTURE_SHAPE = (256, 2048)
# per process, kept across shards: loading a font and measuring its advances is the slow part of a cold start
_FONT_CACHE: dict[tuple[str, int], object] = {}
_ADVANCES: dict[str, tuple[object, dict[str, float]]] = {}  # per font file: the font at _ADVANCE_EM, advances
_KERNING: dict[str, dict[tuple[str, str], float]] = {}  # per font file: pair kerning in ems
_GLYPHS: dict[tuple[tuple[str, int], str], tuple[np.ndarray, int, int]] = {}  # rasterized glyphs
# words a font may shape with ligatures are drawn whole by Pillow (f followed by these letters)
_LIGATURE_PRONE = re.compile("f[bfhijklt]")


def select_fonts(config: RenderConfig) -> list[BookFont]:
    fonts = book_fonts(list(config.font_packages) if config.font_packages else None)
    if not fonts:
        raise RuntimeError("no book fonts installed (run `make install`)")
    return fonts


class LineRenderer:
    """Renders and degrades lines; deterministic for a seed."""

    def __init__(self, config: SynthConfig, fonts: list[BookFont], seed: int) -> None:
        import albumentations as A

        install_pillow_getsize()
        from trdg.computer_text_generator import generate

        self._generate = generate
        self._charset = Charset()
        self.config = config
        self.fonts = fonts
        self.rng = np.random.default_rng(seed)
        # paper texture is cut from two fields drawn once per renderer at random offsets: fresh
        # Gaussian noise for every line cost a sixth of the line's time. Grain is per pixel,
        # mottle varies over about 16 pixels.
        texture_rng = np.random.default_rng(_seed_for(seed, "paper texture"))
        self._grain = texture_rng.standard_normal(_TEXTURE_SHAPE, dtype=np.float32)
        coarse = texture_rng.standard_normal((_TEXTURE_SHAPE[0] // 16, _TEXTURE_SHAPE[1] // 16), dtype=np.float32)
        self._mottle = cv2.resize(coarse, _TEXTURE_SHAPE[::-1], interpolation=cv2.INTER_CUBIC)
        weights = np.array([config.render.style_weights.get(f.style, 0.0) for f in fonts])
        # every family equally likely within a style
        per_style = Counter(f.style for f in fonts)
        weights = weights / np.array([per_style[f.style] for f in fonts])
        self._font_cumulative = np.cumsum(weights / weights.sum())
        d = config.degrade
        self.geometric = A.Compose(
            [
                A.Affine(rotate=(-d.rotate_deg, d.rotate_deg), shear={"x": (-d.shear_deg, d.shear_deg), "y": 0},
                         fit_output=True, fill=0, p=d.affine_p),
                A.Perspective(scale=(0.005, 0.02), fit_output=True, fill=0, p=d.perspective_p),
            ],
            seed=_seed_for(seed, "geometric"),
        )
        self.photometric = A.Compose(
            [
                A.OneOf(
                    [A.GaussianBlur(blur_limit=(3, 5), sigma_limit=(0.3, 1.2)),
                     A.MotionBlur(blur_limit=(3, 5))],
                    p=d.gaussian_blur_p + d.motion_blur_p,
                ),
                A.Downscale(scale_range=(0.45, 0.9), p=d.downscale_p),
                A.GaussNoise(std_range=(0.01, 0.06), p=d.noise_p),
                A.ImageCompression(quality_range=(35, 95), p=d.jpeg_p),
            ],
            seed=_seed_for(seed, "photometric"),
        )

    def _pick_font(self, text: str) -> BookFont | None:
        first = int(np.searchsorted(self._font_cumulative, self.rng.random() * self._font_cumulative[-1]))
        first = min(first, len(self.fonts) - 1)
        for offset in range(len(self.fonts)):
            font = self.fonts[(first + offset) % len(self.fonts)]
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
        small_size = int(round(size * self.rng.uniform(0.68, 0.8))) if small_caps else 0
        return self._render_alpha_pillow(text, font, size, space, small_size)

    def _font(self, font: BookFont, size: int):
        from PIL import ImageFont

        key = (str(font.path), size)
        pil_font = _FONT_CACHE.get(key)
        if pil_font is None:
            pil_font = _FONT_CACHE[key] = ImageFont.truetype(str(font.path), size)
        return pil_font, key

    def _render_alpha_pillow(self, text: str, font: BookFont, size: int, space: float,
                             small_caps_size: int = 0) -> np.ndarray:
        # the layout trdg produces with word_split=True (words kerned, spaces stretched by
        # ``space``), drawn in one pass without trdg's second mask image; with small_caps_size,
        # runs of lowercase letters are drawn as capitals of that size.
        # Glyphs are rasterized once per font, size and character and then placed by their
        # advances and the font's pair kerning: FreeType's hinting made drawing every glyph anew
        # 40% of a line's time. Words that a font may draw with ligatures (fi, fl, ff, ...) are
        # still shaped and drawn whole by Pillow.
        from PIL import Image, ImageDraw

        pil_font, key = self._font(font, size)
        small = self._font(font, small_caps_size) if small_caps_size else None
        pieces: list[tuple[str, object, tuple[str, int], float, bool]] = []  # (text, font, key, pen, shaped)
        x = 1.0
        space_px = self._word_length(key, " ") * space
        for word in text.split(" "):
            runs = _small_caps_runs(word) if small else [(word, False)]
            for run, is_small in runs:
                run_font, run_key = small if is_small else (pil_font, key)
                drawn = run.upper() if is_small else run
                shaped = _LIGATURE_PRONE.search(drawn) is not None
                pieces.append((drawn, run_font, run_key, x, shaped))
                x += self._word_length(run_key, drawn, kerned=not shaped)
            x += space_px
        width = x - space_px - 1.0
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
                self._place_glyphs(canvas, drawn, run_font, run_key, pen, 1 + ascent)
        return canvas.astype(np.float32) * np.float32(1 / 255)

    def _place_glyphs(self, canvas: np.ndarray, word: str, pil_font, key: tuple[str, int], pen: float,
                      baseline: int) -> None:
        path, size = key
        _, advances = self._advance_table(path)
        h, w = canvas.shape
        previous = ""
        for char in word:
            if previous:
                pen += self._pair_kerning(path, previous, char) * size
            bitmap, dx, dy = self._glyph(pil_font, key, char)
            if bitmap.size:
                x0, y0 = int(round(pen)) + dx, baseline + dy
                # clipped at the canvas, as Pillow clips what it draws
                cx0, cy0 = max(x0, 0), max(y0, 0)
                cx1, cy1 = min(x0 + bitmap.shape[1], w), min(y0 + bitmap.shape[0], h)
                if cx1 > cx0 and cy1 > cy0:
                    region = canvas[cy0:cy1, cx0:cx1]
                    np.maximum(region, bitmap[cy0 - y0 : cy1 - y0, cx0 - x0 : cx1 - x0], out=region)
            pen += advances[char] * size
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
        # (measuring each size's advances anew cost seconds per worker: 42 fonts x 23 sizes)
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

    def _ink_weight(self, alpha: np.ndarray, height: int) -> np.ndarray:
        d = self.config.degrade
        radius = max(1, int(round(height / 40)))
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * radius + 1, 2 * radius + 1))
        u = self.rng.random()
        if u < d.ink_thicken_p:
            return cv2.dilate(alpha, kernel)
        if u < d.ink_thicken_p + d.ink_thin_p and height >= 30:
            # worn type or starved ink lightens strokes; a full erosion instead deleted the
            # hairlines and serifs of high-contrast faces, and with them the letters (thinned lines
            # were a tenth of the data and carried almost half the recognizer's validation errors)
            return alpha + np.float32(self.rng.uniform(0.3, 0.6)) * (cv2.erode(alpha, kernel) - alpha)
        return alpha

    def _add_margins(self, alpha: np.ndarray, text_height: int) -> np.ndarray:
        m = int(text_height * 0.6) + 4
        padded = cv2.copyMakeBorder(alpha, m, m, m, m, cv2.BORDER_CONSTANT, value=0)
        if self.rng.random() < self.config.degrade.neighbour_fragments_p:
            # descenders of the line above and ascenders of the line below, as a page crop may hold
            h, w = alpha.shape
            shift = int(self.rng.integers(-w // 3, w // 3 + 1))
            frag = max(2, int(text_height * self.rng.uniform(0.06, 0.2)))
            gap = int(text_height * self.rng.uniform(0.25, 0.6))
            fragment_above = np.roll(alpha[h - frag :, :], shift, axis=1)
            fragment_below = np.roll(alpha[:frag, :], -shift, axis=1)
            y_above = max(0, m - gap - frag)
            padded[y_above : y_above + frag, m : m + w] = np.maximum(
                padded[y_above : y_above + frag, m : m + w], fragment_above[: m - y_above]
            )
            y_below = m + h + gap
            if y_below + frag <= padded.shape[0]:
                padded[y_below : y_below + frag, m : m + w] = np.maximum(
                    padded[y_below : y_below + frag, m : m + w], fragment_below
                )
        return padded

    def _curl(self, alpha: np.ndarray, text_height: int) -> np.ndarray:
        h, w = alpha.shape
        amplitude = self.config.degrade.curl_amplitude * text_height * self.rng.uniform(0.3, 1.0)
        x = np.arange(w, dtype=np.float32)
        if self.rng.random() < 0.5:  # a page curving into the gutter: one end bends away
            t = x / max(w - 1, 1)
            if self.rng.random() < 0.5:
                t = 1 - t
            dy = amplitude * 2 * t**3
        else:
            period = w * self.rng.uniform(0.8, 3.0)
            dy = amplitude * np.sin(2 * np.pi * x / period + self.rng.uniform(0, 2 * np.pi))
        map_x = np.tile(x, (h, 1))
        map_y = np.arange(h, dtype=np.float32)[:, None] + dy[None, :]
        return cv2.remap(alpha, map_x, map_y.astype(np.float32), cv2.INTER_LINEAR, borderValue=0)

    def _paper_and_ink(self, alpha: np.ndarray) -> np.ndarray:
        d = self.config.degrade
        rng = self.rng
        h, w = alpha.shape
        paper = np.full((h, w), rng.uniform(d.paper_min, d.paper_max), dtype=np.float32)
        if rng.random() < d.texture_p:
            paper += self._texture_patch(self._mottle, h, w) * np.float32(rng.uniform(2, 8))
            paper += self._texture_patch(self._grain, h, w) * np.float32(rng.uniform(1, 5))
        if rng.random() < d.illumination_p:
            # a gradient along the line (gutter shadow, lamp falloff)
            start, end = rng.uniform(0.55, 1.0), rng.uniform(0.85, 1.05)
            ramp = np.linspace(start, end, w, dtype=np.float32) ** rng.uniform(0.5, 3.0)
            if rng.random() < 0.5:
                ramp = ramp[::-1]
            paper *= ramp[None, :]
        # ink stays darker than the darkest paper of the line, however deep the shadow
        ink_level = rng.uniform(0, min(d.ink_max, 0.6 * float(paper.min())))
        if rng.random() < 0.5:
            ink = np.minimum(paper * np.float32(rng.uniform(0.05, 0.5)), np.float32(ink_level))
            image = paper + (ink - paper) * alpha
        else:
            image = paper + (np.float32(ink_level) - paper) * alpha
        return np.clip(image, 0, 255, out=image).astype(np.uint8)

    def _texture_patch(self, field: np.ndarray, h: int, w: int) -> np.ndarray:
        """An h x w window of a texture field at a random offset (the field repeated if it is too small)."""
        fh, fw = field.shape
        if h > fh or w > fw:
            field = np.tile(field, (-(-h // fh) + 1, -(-w // fw) + 1))
            fh, fw = field.shape
        y = int(self.rng.integers(0, fh - h + 1))
        x = int(self.rng.integers(0, fw - w + 1))
        return field[y : y + h, x : x + w]

    def render(self, text: str) -> LineSample | None:
        """One degraded, normalized line image of ``text``; None if no font can draw it."""
        small_caps = (self.config.render.backend == "pillow" and any(c.islower() for c in text)
                      and self.rng.random() < self.config.render.small_caps_p)
        if small_caps:
            # small capitals are capitals: the label says what the glyphs show (a line set all in
            # small caps could not tell lowercase from capitals otherwise)
            label = "".join(run.upper() if small else run for run, small in _small_caps_runs(text))
            small_caps = self._charset.can_encode(label)
        font = self._pick_font(text + label if small_caps else text)
        if font is None:
            return None
        alpha = self._render_alpha(text, font, small_caps)
        text_height = alpha.shape[0]
        alpha = self._ink_weight(alpha, text_height)
        alpha = self._add_margins(alpha, text_height)
        alpha = self.geometric(image=alpha)["image"]
        if self.rng.random() < self.config.degrade.curl_p:
            alpha = self._curl(alpha, text_height)
        image = self._paper_and_ink(np.clip(alpha, 0, 1))
        image = self.photometric(image=image)["image"]
        if self.rng.random() < self.config.degrade.binarize_p:
            # a 1-bit scan: scanners threshold locally, so a shadow does not turn into a black slab
            flat = flatten_illumination(image, text_height)
            _, binary = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
            if binarization_is_legible(binary, alpha, text_height):
                image = binary
        try:
            line = normalize_line(image, self.config.geometry)
        except EmptyLineError:
            return None
        if not framed_as_drawn(alpha, line.shape[1], self.config.geometry):
            return None
        return LineSample(line, label if small_caps else text, font.name)


def binarization_is_legible(binary: np.ndarray, alpha: np.ndarray, text_height: int,
                            min_share: float = 0.9) -> bool:
    """Whether a 1-bit version of a line still shows the strokes that were drawn (``alpha`` > 0.5).

    A global threshold after blur, noise and a shadow can erase thin strokes or fill counters
    and gaps into blobs; the label of such a line can no longer be read from it. Both shares
    must reach ``min_share``: drawn stroke pixels with black within a pixel of them, and black
    pixels within ``text_height / 20`` pixels of a drawn stroke.
    """
    drawn = alpha > 0.5
    ink = binary < 128
    if not drawn.any() or not ink.any():
        return False
    ink_nearby = cv2.dilate(ink.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    reach = 2 * max(1, text_height // 20) + 1
    drawn_nearby = cv2.dilate(drawn.astype(np.uint8), np.ones((reach, reach), np.uint8)) > 0
    return bool(ink_nearby[drawn].mean() >= min_share and drawn_nearby[ink].mean() >= min_share)


# The normalized line may be at most this much narrower or wider than the drawn ink predicts:
# lines whose text a mis-framed crop had shrunk below 80% of its drawn size were misread 9-22
# times as often as well-framed ones (3,000 lines of the earlier generator, read by the model then
# committed); lines stretched beyond 130% about 10 times.
FRAMING_TOLERANCE = 1.33


def framed_as_drawn(alpha: np.ndarray, line_width: int, geometry: LineGeometry,
                    tolerance: float = FRAMING_TOLERANCE) -> bool:
    """Whether a normalized line of ``line_width`` px shows the text at about the size it was drawn.

    ``alpha`` is the drawn ink (after the geometric distortions). When noise, paper texture or a
    1-bit threshold swamps faint ink, ``normalize_line`` can take the whole crop for the text band
    and shrink the text to a few pixels under blotches: an image nobody could read, which would
    teach the recognizer nothing and count as errors in validation. The expected width follows
    from the band and extent of the drawn ink; a line more than ``tolerance`` times narrower or
    wider than that was framed on something else.
    """
    ink = alpha > 0.5
    rows = ink.sum(axis=1).astype(np.float32)
    if not rows.any():
        return False
    top, bottom = text_band(rows)
    columns = np.flatnonzero(ink[top:bottom].any(axis=0))
    ratio = line_width / framed_width(bottom - top, int(columns[-1] - columns[0] + 1), geometry)
    return 1 / tolerance <= ratio <= tolerance


def _small_caps_runs(word: str) -> list[tuple[str, bool]]:
    """Split a word into runs of (text, drawn as a small capital)."""
    runs: list[tuple[str, bool]] = []
    for char in word:
        is_small = char.islower() and len(char.upper()) == 1
        if runs and runs[-1][1] == is_small:
            runs[-1] = (runs[-1][0] + char, is_small)
        else:
            runs.append((char, is_small))
    return runs


# -- shards ---------------------------------------------------------------------------------------


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


_QUANTIZE = np.rint(np.arange(256) / (255 / (STORED_GRAY_LEVELS - 1))).astype(np.uint8)


def _quantize(image: np.ndarray) -> np.ndarray:
    return _QUANTIZE[image]


def _dequantization_table(levels: int) -> np.ndarray:
    return np.rint(np.arange(256) * (255 / (levels - 1))).clip(0, 255).astype(np.uint8)


def write_shard(path: Path, samples: list[LineSample], font_names: list[str]) -> None:
    """Write samples as a .npz readable by ``numpy.load``, byte-identical for identical input.

    Images are stored as ``STORED_GRAY_LEVELS`` grey levels, bzip2-compressed;
    ``read_shard`` maps them back to 0-255. The file appears under its final
    name only once it is complete.
    """
    arrays = {
        "images": _quantize(np.concatenate([s.image.reshape(-1) for s in samples])),
        "gray_levels": np.array([STORED_GRAY_LEVELS], dtype=np.int32),
        "widths": np.array([s.image.shape[1] for s in samples], dtype=np.int32),
        "height": np.array([samples[0].image.shape[0]], dtype=np.int32),
        "labels": np.array([s.text for s in samples], dtype=str),
        "font_ids": np.array([font_names.index(s.font) for s in samples], dtype=np.int16),
    }
    tmp = path.with_name(path.name + ".partial")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_BZIP2, compresslevel=9) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_BZIP2
            archive.writestr(info, _npy_bytes(array))
    os.replace(tmp, path)


@dataclass(frozen=True)
class Shard:
    images: list[np.ndarray]
    labels: list[str]
    font_ids: np.ndarray


def read_shard(path: str | Path) -> Shard:
    with np.load(path, allow_pickle=False) as data:
        flat, widths, height = data["images"], data["widths"], int(data["height"][0])
        if "gray_levels" in data:  # format 2; format 1 shards stored all 256 levels
            flat = _dequantization_table(int(data["gray_levels"][0]))[flat]
        offsets = np.concatenate([[0], np.cumsum(widths.astype(np.int64) * height)])
        images = [flat[offsets[i] : offsets[i + 1]].reshape(height, int(w)) for i, w in enumerate(widths)]
        return Shard(images, [str(s) for s in data["labels"]], data["font_ids"].copy())


@dataclass(frozen=True)
class ShardJob:
    config: SynthConfig
    split: str
    index: int
    count: int
    out_dir: Path
    font_paths: tuple[str, ...]


def shard_path(out_dir: Path, split: str, index: int) -> Path:
    return out_dir / f"shard-{split}-{index:05d}.npz"


def generate_lines(config: SynthConfig, split: str, index: int, count: int,
                   fonts: list[BookFont]) -> Iterator[LineSample]:
    """The samples of one shard: text drawn and filtered to the split, then rendered."""
    charset = Charset()
    seed = _seed_for(config.seed, split, index)
    texts = LineTextGenerator(config.text, charset, seed)
    renderer = LineRenderer(config, fonts, seed)
    produced = 0
    while produced < count:
        text = texts.next_line().strip()
        if not text or split_of(text, config.validation_fraction) != split:
            continue
        sample = renderer.render(text)
        # a small-caps label differs from its text: it must belong to the split as well
        if sample is not None and split_of(sample.text, config.validation_fraction) == split:
            produced += 1
            yield sample


def run_shard_job(job: ShardJob) -> tuple[str, int, dict[str, int], dict[str, int]]:
    """Generate and write one shard; returns its path, line count, character and font counts."""
    fonts = [f for f in select_fonts(job.config.render) if str(f.path) in job.font_paths]
    samples = list(generate_lines(job.config, job.split, job.index, job.count, fonts))
    path = shard_path(job.out_dir, job.split, job.index)
    write_shard(path, samples, [f.name for f in fonts])
    chars = Counter("".join(s.text for s in samples))
    font_counts = Counter(s.font for s in samples)
    return str(path), len(samples), dict(chars), dict(font_counts)


def plan_shards(config: SynthConfig, out_dir: Path, fonts: list[BookFont]) -> list[ShardJob]:
    n_val = int(round(config.num_lines * config.validation_fraction))
    jobs = []
    paths = tuple(str(f.path) for f in fonts)
    for split, total in (("validation", n_val), ("train", config.num_lines - n_val)):
        for index, start in enumerate(range(0, total, config.shard_size)):
            count = min(config.shard_size, total - start)
            jobs.append(ShardJob(config, split, index, count, out_dir, paths))
    return jobs


def write_manifest(out_dir: Path, config: SynthConfig, fonts: list[BookFont],
                   results: list[tuple[str, int, dict[str, int], dict[str, int]]]) -> dict:
    chars: Counter[str] = Counter()
    font_counts: Counter[str] = Counter()
    shards: dict[str, list[dict[str, object]]] = {"train": [], "validation": []}
    for path, n, char_counts, fc in sorted(results):
        chars.update(char_counts)
        font_counts.update(fc)
        split = "validation" if "-validation-" in Path(path).name else "train"
        shards[split].append({"file": Path(path).name, "lines": n})
    charset = Charset()
    manifest = {
        "format_version": SHARD_FORMAT_VERSION,
        "name": config.name,
        "seed": config.seed,
        "generator": generator_fingerprint(),
        "config": to_dict(config),
        "charset": charset.to_dict(),
        "fonts": [f.name for f in fonts],
        "counts": {split: sum(s["lines"] for s in items) for split, items in shards.items()},
        "shards": shards,
        "character_frequencies": dict(sorted(chars.items(), key=lambda kv: -kv[1])),
        "characters_never_seen": [c for c in charset.characters if c not in chars],
        "font_frequencies": dict(sorted(font_counts.items(), key=lambda kv: -kv[1])),
    }
    tmp = out_dir / "manifest.json.partial"
    tmp.write_text(json.dumps(manifest, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    os.replace(tmp, out_dir / "manifest.json")
    return manifest


def write_samples(out_dir: Path, shard_file: Path, limit: int) -> None:
    """PNG + .gt.txt pairs (the tesstrain convention) for the first lines of a shard."""
    samples_dir = out_dir / "samples"
    samples_dir.mkdir(exist_ok=True)
    shard = read_shard(shard_file)
    for i, (image, label) in enumerate(zip(shard.images[:limit], shard.labels[:limit], strict=True)):
        cv2.imwrite(str(samples_dir / f"line-{i:04d}.png"), image)
        (samples_dir / f"line-{i:04d}.gt.txt").write_text(label + "\n", encoding="utf-8")


def contact_sheet(images: list[np.ndarray], labels: list[str] | None = None, width: int = 1000) -> np.ndarray:
    """Stack line images (and optionally their labels, ASCII-safe) into one picture."""
    rows = []
    for i, image in enumerate(images):
        line = image[:, :width]
        canvas = np.full((image.shape[0] + 6, width), 255, np.uint8)
        canvas[3 : 3 + line.shape[0], : line.shape[1]] = line
        rows.append(canvas)
        if labels is not None:
            caption = np.full((16, width), 255, np.uint8)
            text = labels[i].encode("ascii", "replace").decode()
            cv2.putText(caption, text[:140], (2, 12), cv2.FONT_HERSHEY_PLAIN, 0.9, 90, 1, cv2.LINE_AA)
            rows.append(caption)
    return np.vstack(rows) if rows else np.full((10, width), 255, np.uint8)


class SynthError(RuntimeError):
    """A data set cannot be generated (bad configuration, missing fonts, full disk)."""


def check_corpus_encodable(config: SynthConfig, charset: Charset, probe_lines: int = 2000) -> None:
    """Fail early if the text generator produces characters the charset cannot encode."""
    texts = LineTextGenerator(config.text, charset, _seed_for(config.seed, "probe"))
    for _ in range(probe_lines):
        line = texts.next_line()
        missing = charset.missing(line)
        if missing:
            raise SynthError(f"corpus produces characters outside the charset: {sorted(missing)!r} in {line!r}")


def generator_fingerprint() -> str:
    """A hash of the source of every module that decides a shard's bytes."""
    from crnn import charset, fonts, lines, textgen

    digest = hashlib.sha256(str(SHARD_FORMAT_VERSION).encode())
    for module in (sys.modules[__name__], charset, fonts, lines, textgen):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def _single_threaded_worker() -> None:
    # one process per core already: OpenCV's own threads would only fight over the cores
    cv2.setNumThreads(1)


def build_dataset(config: SynthConfig, out_dir: Path, workers: int = 2, progress: bool = True) -> dict:
    """Generate every shard of ``config`` under ``out_dir`` in parallel, then the manifest and samples.

    Shards already complete from an earlier run with the same config are kept;
    the manifest is written last, so its presence means the data set is whole.
    """
    from multiprocessing import get_context

    from tqdm import tqdm

    charset = Charset()
    fonts = select_fonts(config.render)
    unusable = [f.name for f in fonts if not can_render(f, charset.characters.replace(" ", ""))]
    if len(unusable) == len(fonts):
        raise SynthError("no installed font covers the charset")
    check_corpus_encodable(config, charset)
    out_dir.mkdir(parents=True, exist_ok=True)
    config_file = out_dir / "config.json"
    # shards are reused only if both the config and the code that renders them are unchanged
    wanted = json.dumps({"config": to_dict(config), "generator": generator_fingerprint()}, sort_keys=True)
    if config_file.exists() and config_file.read_text(encoding="utf-8") != wanted:
        for stale in out_dir.glob("shard-*.npz"):
            stale.unlink()
        (out_dir / "manifest.json").unlink(missing_ok=True)
    config_file.write_text(wanted, encoding="utf-8")
    for partial in out_dir.glob("*.partial"):
        partial.unlink()

    jobs = plan_shards(config, out_dir, fonts)
    results = []
    todo = []
    for job in jobs:
        if shard_path(out_dir, job.split, job.index).exists():
            shard = read_shard(shard_path(out_dir, job.split, job.index))
            results.append((str(shard_path(out_dir, job.split, job.index)), len(shard.labels),
                            dict(Counter("".join(shard.labels))),
                            dict(Counter(fonts[i].name for i in shard.font_ids))))
        else:
            todo.append(job)
    bar = tqdm(total=config.num_lines, initial=sum(r[1] for r in results), unit="line",
               desc=f"synth {config.name}", disable=not progress, file=sys.stderr)
    try:
        if workers <= 1:
            for job in todo:
                results.append(run_shard_job(job))
                bar.update(results[-1][1])
        else:
            with get_context("fork").Pool(workers, initializer=_single_threaded_worker) as pool:
                for result in pool.imap_unordered(run_shard_job, todo):
                    results.append(result)
                    bar.update(result[1])
    except OSError as exc:
        raise SynthError(f"cannot write shards to {out_dir}: {exc.strerror or exc}") from None
    finally:
        bar.close()
    manifest = write_manifest(out_dir, config, fonts, results)
    validation = [r[0] for r in results if "-validation-" in r[0]]
    if validation and config.sample_pngs:
        write_samples(out_dir, Path(sorted(validation)[0]), config.sample_pngs)
    return manifest


def write_preview(data_dir: Path, out_path: Path, count: int = 40, seed: int = 0) -> Path:
    """A contact sheet of ``count`` random validation lines with their labels, for a look at the data."""
    shards = sorted(data_dir.glob("shard-validation-*.npz")) or sorted(data_dir.glob("shard-train-*.npz"))
    if not shards:
        raise SynthError(f"no shards in {data_dir}: run `make synth` first")
    shard = read_shard(shards[0])
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(shard.images), size=min(count, len(shard.images)), replace=False)
    sheet = contact_sheet([shard.images[i] for i in picks], [shard.labels[i] for i in picks])
    out_path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_path), sheet)
    return out_path
