"""Every threshold of the layout, one frozen dataclass per step.

Sizes are relative to the page's own character height (``*_chars``) or to a
measured quantity (``*_fraction``), so the same values serve a 150-dpi photo
and a 600-dpi scan. ``LayoutConfig`` loads from YAML with ``crnn.config.from_dict``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class BinarizeConfig:
    """Otsu on the illumination-flattened page, confirmed by Sauvola's local threshold."""

    window_chars: float = 6.0  # the local window, in character heights (measured on a first, rough pass)
    fallback_window_divisor: int = 25  # without a character height: the page height divided by this
    min_window: int = 15
    max_otsu_threshold: int = 200  # Otsu on a nearly blank page would split paper grain: demand real contrast
    sauvola_k: float = 0.25
    sauvola_range: float = 128.0


@dataclass(frozen=True)
class DeskewConfig:
    """The angle that makes the horizontal projection profile sharpest."""

    max_degrees: float = 5.0
    coarse_step: float = 0.25
    fine_step: float = 0.05
    max_points: int = 60_000  # an even sample of the ink pixels; more only costs time
    coarse_subsample: int = 3  # the coarse search only needs the peak's neighbourhood
    # a photographed page bends: each block's own skew is measured again, within this range, and
    # its lines are found on the block turned straight when they drift this many character
    # heights from one end to the other
    block_max_degrees: float = 2.0
    block_min_drift_chars: float = 0.3
    block_min_lines: int = 3
    paragraph_gap_pitches: float = 1.0  # a blank gap this many line pitches tall parts paragraphs


@dataclass(frozen=True)
class CharHeightConfig:
    """The median height of letter-sized connected components."""

    min_height: int = 4
    max_page_divisor: int = 12  # taller than the image's longer side divided by this: not a letter
    min_area: int = 12
    min_components: int = 5


@dataclass(frozen=True)
class ComponentConfig:
    """Which connected components can be text, and which are illustrations, rules or page edges."""

    big_chars: float = 3.5  # taller than this many character heights: not text
    wide_chars: float = 30.0  # wider than any word
    speck_chars: float = 0.12  # components smaller than (this x character height) squared are specks
    min_speck_area: int = 3
    thin_chars: float = 1.5  # a big component thinner than this is a rule or an edge, not a picture
    thin_ratio: float = 0.1  # ... or thinner than this fraction of its length
    rule_min_chars: float = 6.0  # a thin vertical stroke this tall is a rule that may part columns
    peel_run_chars: float = 3.0  # the straight run that marks a rule's body
    peel_margin_chars: float = 0.5  # the body's ragged outline goes with it
    min_picture_occupancy: float = 0.2  # a big component is a picture if its strokes fill this share of its box
    spans_height_fraction: float = 0.8  # an outline this tall or wide is the page's border, never a frame
    spans_width_fraction: float = 0.9
    middle_margin_fraction: float = 0.25  # ... and of its middle (the box without this share on each side)
    border_chars: float = 0.5  # components this close to the image border are the page edge
    min_border: int = 3
    letter_min_chars: float = 0.6  # letters for the darkness statistics
    letter_max_chars: float = 2.5
    min_letters: int = 5
    pale_fraction: float = 0.6  # paler than this far from the letters' darkness to the threshold: not ink
    picture_margin_chars: float = 0.5  # loose strokes this close to a picture belong to it
    large_type_max_chars: float = 12.0  # titles in large type: letters up to this many character heights ...
    large_type_max_aspect: float = 3.0  # ... at most this much wider than tall (two touching capitals) ...
    large_type_min_aspect: float = 0.1  # ... and not a hairline ...
    large_type_min_fill: float = 0.08  # ... filling their box like letters do ...
    large_type_max_fill: float = 1.0  # (the stem of an I fills its box)
    large_type_min_letters: int = 3  # ... in a row of this many ...
    large_type_level: float = 0.25  # ... whose middles are level within this share of their height ...
    large_type_height_tolerance: float = 0.35  # ... of similar heights ...
    large_type_gap: float = 1.5  # ... each at most this many of its heights from the next
    paper_window_chars: float = 4.0  # the paper's local brightness, over this many character heights ...
    min_paper_brightness: float = 0.45  # ... below this share of the page's paper: not paper (a dark surround)


@dataclass(frozen=True)
class SpreadConfig:
    """The gutter of a two-page spread."""

    min_aspect: float = 1.15  # width / height above which a spread is looked for
    smoothing_divisor: int = 60  # column profile smoothed over width / this
    search_from: float = 0.35  # the gutter lies between these fractions of the width
    search_to: float = 0.65
    min_side_share: float = 0.15  # each page holds at least this share of the ink
    max_gutter_ink: float = 0.05  # the gutter's ink, relative to the 90th percentile column


@dataclass(frozen=True)
class OrientationConfig:
    """Pages turned by 90, 180 or 270 degrees (``crnn.layout.orientation``)."""

    enabled: bool = True
    trend_chars: float = 8.0  # profile oscillation is measured around a moving average this long
    min_sideways_ratio: float = 1.5  # columns must oscillate this much more than rows to turn the page
    blank_row_fraction: float = 0.02  # rows with less ink than this share of the densest separate lines
    min_line_chars: float = 0.5
    strip_chars: float = 15.0  # the asymmetry is measured in vertical strips this wide
    core_fraction: float = 0.5  # a line's core: rows with this share of its densest row
    min_flip_ratio: float = 1.3  # descender ink must outweigh ascender ink this much to turn it over


@dataclass(frozen=True)
class ColumnConfig:
    """Columns and blocks by recursive X-Y cuts (``crnn.layout.columns``)."""

    enabled: bool = True
    cell_chars: float = 0.25  # the cut grid's cell, in character heights
    min_gutter_chars: float = 1.5  # a gutter is wider than any word space ...
    min_column_chars: float = 8.0  # ... and runs through a region at least this tall ...
    min_side_ink_chars: float = 4.0  # ... between columns with this many character heights of inked rows
    # a region too short for that (lines where a picture ends) is still cut where a gutter this wide
    # continues a column gutter: blank between text for min_column_chars straight above it
    continued_gutter_chars: float = 3.0
    rule_span_fraction: float = 0.9  # a vertical rule parts a region it runs through this much of
    max_depth: int = 64


@dataclass(frozen=True)
class LineConfig:
    """Text lines from horizontal projection profiles."""

    ink_row_fraction: float = 0.005  # a row with this share of the 90th-percentile row's ink is text
    min_ink_row: float = 0.5
    min_band_chars: float = 0.35  # slivers shorter than this are dropped
    min_band_rows: int = 2
    split_factor: float = 1.7  # without a measured pitch: bands this many median heights tall are split ...
    split_window: float = 0.3  # ... at the profile minimum within this many pitches of the expected cut
    min_pitch_chars: float = 1.2  # the line pitch is searched between these many character heights
    max_pitch_chars: float = 6.0
    min_pitch_correlation: float = 0.2  # a weaker periodicity is no pitch
    pitch_peak_share: float = 0.8  # the first autocorrelation peak this close to the best (not a harmonic)
    pitch_split_factor: float = 1.5  # bands this many pitches tall hold more than one line
    split_depth: float = 0.6  # a cut's row holds at most this share of the band's typical row ink
    max_line_chars: float = 3.0  # a band this many character heights tall may hold two lines ...
    line_height_chars: float = 1.9  # ... each about this tall
    member_min_chars: float = 0.25  # components this tall can choose a line's extent
    extend_chars: float = 1.0  # a line's box reaches at most this far beyond its band
    punctuation_gap_chars: float = 0.6  # marks this close to a line's ends belong to it
    cluster_gap_chars: float = 2.0  # wider than a justified word space
    letter_min_chars: float = 0.6  # a letter-shaped member ...
    letter_max_chars: float = 2.5
    large_letter_max_aspect: float = 3.0  # taller ones are large type if no wider than this times their height ...
    large_letter_min_aspect: float = 0.1  # ... nor narrower than this (a hairline is a rule's piece) ...
    large_letters_in_row: int = 3  # ... and a band holds this many
    letter_max_fill: float = 0.85  # ... is not a solid blob
    min_aspect: float = 0.25  # narrower than this times its height: a bare stroke, not a line
    loose_stroke_parts: int = 2  # a line of this few parts beside a picture is a loose stroke
    loose_stroke_chars: float = 2.0
    block_gap_factor: float = 1.6  # a vertical gap over this many line pitches starts a new block


@dataclass(frozen=True)
class CropConfig:
    """Cutting a line from the full-resolution page for the recognizer."""

    pad_height_fraction: float = 0.5  # rows above and below the line's box, as a fraction of its height
    pad_chars: float = 0.8  # columns left and right
    keep_chars: float = 0.2  # the surroundings of the line's own components that are kept
    shading_window_chars: float = 2.0  # shading is divided out over this window: no stroke is that wide
    # a blank gap inside a framed line wider than this many line heights (wider than any word
    # space of the training lines) is narrowed to the second: read as one wide word space
    close_gaps_wider_than: float = 1.5
    closed_gap_width: float = 0.75


@dataclass(frozen=True)
class LayoutConfig:
    """All of the layout's parameters."""

    analysis_max_side: int = 2000  # pages are analysed at most this large; crops come from full resolution
    paper_percentile: int = 90  # the paper's grey level, for filling rotated corners
    single_line_max_height: int = 200  # an image this low is one line unless the layout finds several ...
    single_line_share: float = 0.5  # ... each this tall and long, relative to the image's main text band
    binarize: BinarizeConfig = field(default_factory=BinarizeConfig)
    deskew: DeskewConfig = field(default_factory=DeskewConfig)
    char_height: CharHeightConfig = field(default_factory=CharHeightConfig)
    components: ComponentConfig = field(default_factory=ComponentConfig)
    spread: SpreadConfig = field(default_factory=SpreadConfig)
    orientation: OrientationConfig = field(default_factory=OrientationConfig)
    columns: ColumnConfig = field(default_factory=ColumnConfig)
    lines: LineConfig = field(default_factory=LineConfig)
    crop: CropConfig = field(default_factory=CropConfig)
