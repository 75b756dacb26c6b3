"""Degradations of a drawn line: ink weight, neighbouring lines, warps, paper, lighting, camera and scanner.

:class:`Degrader` works on the coverage image a typesetter draws and then on the
composed grey image; it draws from the random generator it is given, so a
renderer that shares its generator stays deterministic for a seed. The quality
checks at the end reject lines that a degradation made illegible.
"""

from __future__ import annotations

import cv2
import numpy as np

from crnn.imaging import LineGeometry, flatten_illumination, framed_width, stroke_crossings, text_band
from crnn.synth.config import DegradeConfig

_TEXTURE_SHAPE = (256, 2048)


class Degrader:
    """Applies :class:`DegradeConfig`'s degradations, drawing from ``rng``."""

    def __init__(self, config: DegradeConfig, rng: np.random.Generator, texture_seed: int, geometric_seed: int,
                 photometric_seed: int) -> None:
        import albumentations as A

        self.config = config
        self.rng = rng
        # paper texture is cut from two fields drawn once per degrader at random offsets: fresh
        # Gaussian noise for every line would be a large part of the line's time. Grain is per pixel,
        # mottle varies over about 16 pixels.
        texture_rng = np.random.default_rng(texture_seed)
        self._grain = texture_rng.standard_normal(_TEXTURE_SHAPE, dtype=np.float32)
        coarse = texture_rng.standard_normal((_TEXTURE_SHAPE[0] // 16, _TEXTURE_SHAPE[1] // 16), dtype=np.float32)
        self._mottle = cv2.resize(coarse, _TEXTURE_SHAPE[::-1], interpolation=cv2.INTER_CUBIC)
        d = config
        self.geometric = A.Compose(
            [
                A.Affine(rotate=(-d.rotate_deg, d.rotate_deg), shear={"x": (-d.shear_deg, d.shear_deg), "y": 0},
                         fit_output=True, fill=0, p=d.affine_p),
                A.Perspective(scale=(0.005, 0.02), fit_output=True, fill=0, p=d.perspective_p),
            ],
            seed=geometric_seed,
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
            seed=photometric_seed,
        )

    def warp(self, alpha: np.ndarray) -> np.ndarray:
        """Rotation, shear and perspective (albumentations, seeded)."""
        return self.geometric(image=alpha)["image"]

    def camera(self, image: np.ndarray) -> np.ndarray:
        """Blur, down-sampling, noise and JPEG (albumentations, seeded)."""
        return self.photometric(image=image)["image"]

    def scan_1bit(self, image: np.ndarray, alpha: np.ndarray, text_height: int) -> np.ndarray:
        """The line as a 1-bit scan would give it, if its strokes stay legible; else the line unchanged.

        Scanners threshold locally, so a shadow does not turn into a black slab.
        """
        flat = flatten_illumination(image, text_height)
        _, binary = cv2.threshold(flat, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        return binary if binarization_is_legible(binary, alpha, text_height) else image

    def ink_weight(self, alpha: np.ndarray, height: int) -> np.ndarray:
        """Heavier or lighter strokes (over-inked or worn type), or the drawing as it is."""
        d = self.config
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

    def add_margins(self, alpha: np.ndarray, text_height: int) -> np.ndarray:
        """Blank margins around the line, sometimes with fragments of the lines above and below."""
        m = int(text_height * 0.6) + 4
        padded = cv2.copyMakeBorder(alpha, m, m, m, m, cv2.BORDER_CONSTANT, value=0)
        if self.rng.random() < self.config.neighbour_fragments_p:
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

    def curl(self, alpha: np.ndarray, text_height: int) -> np.ndarray:
        """A baseline bent as on a curved page: into the gutter at one end, or a gentle wave."""
        h, w = alpha.shape
        amplitude = self.config.curl_amplitude * text_height * self.rng.uniform(0.3, 1.0)
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

    def paper_and_ink(self, alpha: np.ndarray) -> np.ndarray:
        """The coverage composed as ink on paper of random tint, texture and lighting (uint8)."""
        d = self.config
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
# mis-framed lines (text shrunk or stretched by a wrong band) were misread many times as often
# as well-framed ones (docs/design.md, "Legible synthetic lines").
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
    top, bottom = text_band(rows, stroke_crossings(ink))
    columns = np.flatnonzero(ink[top:bottom].any(axis=0))
    ratio = line_width / framed_width(bottom - top, int(columns[-1] - columns[0] + 1), geometry)
    return 1 / tolerance <= ratio <= tolerance
