"""The synthetic data's parameters: what text, drawn how, degraded how, and how much of it."""

from __future__ import annotations

from dataclasses import dataclass, field

from crnn.imaging import LineGeometry
from crnn.synth.text import TextConfig


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
    # letter-spaced lines (pillow backend, book faces): each glyph followed by this much more room, in ems
    letter_spaced_p: float = 0.0
    min_letter_spacing: float = 0.1
    max_letter_spacing: float = 0.6
    # typewritten lines (pillow backend): a monospaced face, spaces of one or two characters, each
    # key struck with its own ink and height (crnn.synth.typeset.Strikes), a ribbon that fades
    typewriter_p: float = 0.0
    typewriter_min_ink: float = 0.55
    typewriter_jitter: float = 0.04  # fraction of the font size
    typewriter_double_strike_p: float = 0.05
    ribbon_fade_p: float = 0.3


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
