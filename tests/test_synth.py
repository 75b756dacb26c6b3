import hashlib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

import crnn.synth.dataset as dataset_module
import crnn.synth.render as render_module
from crnn.charset import Charset
from crnn.config import ConfigError, load_config
from crnn.data import read_shard, write_shard
from crnn.synth.config import RenderConfig, SynthConfig
from crnn.synth.dataset import generate_lines, split_of
from crnn.synth.degrade import binarization_is_legible, framed_as_drawn
from crnn.synth.fonts import FontPackageMissingError, book_fonts
from crnn.synth.render import LineRenderer, select_fonts
from crnn.synth.typeset import Typesetter, small_caps_runs

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def config() -> SynthConfig:
    return replace(load_config(SynthConfig, ROOT / "configs" / "synth.yaml"), num_lines=40, shard_size=20,
                   sample_pngs=4)


@pytest.fixture(scope="module")
def fonts(config):
    return select_fonts(config.render)


def test_same_seed_gives_identical_shards(config, fonts, tmp_path):
    digests = []
    for attempt in range(2):
        samples = list(generate_lines(config, "train", 3, 12, fonts))
        path = tmp_path / f"shard{attempt}.npz"
        write_shard(path, samples, [f.name for f in fonts])
        digests.append(hashlib.sha256(path.read_bytes()).hexdigest())
    assert digests[0] == digests[1]
    other = list(generate_lines(replace(config, seed=config.seed + 1), "train", 3, 12, fonts))
    assert [s.text for s in other] != [s.text for s in samples]


def test_lines_have_configured_height_and_encodable_labels(config, fonts):
    charset = Charset()
    samples = list(generate_lines(config, "train", 0, 30, fonts))
    assert len(samples) == 30
    for sample in samples:
        assert sample.image.shape[0] == config.geometry.height
        assert sample.image.dtype == np.uint8
        charset.encode(sample.text)  # raises on any character outside the charset


def test_shard_round_trip(config, fonts, tmp_path):
    samples = list(generate_lines(config, "validation", 0, 10, fonts))
    path = tmp_path / "shard.npz"
    write_shard(path, samples, [f.name for f in fonts])
    shard = read_shard(path)
    assert shard.labels == [s.text for s in samples]
    for original, loaded in zip(samples, shard.images, strict=True):
        assert original.image.shape == loaded.shape
        # stored as 32 grey levels: each pixel comes back within half a level, black and white exactly
        error = np.abs(original.image.astype(int) - loaded.astype(int))
        assert error.max() <= 4
        assert set(np.unique(loaded[original.image == 0])) <= {0}
        assert set(np.unique(loaded[original.image == 255])) <= {255}
    assert [fonts[i].name for i in shard.font_ids] == [s.font for s in samples]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["shard.npz"]  # no temporary file left behind


def test_splits_never_share_a_line(config, fonts):
    train = {s.text for s in generate_lines(config, "train", 0, 40, fonts)}
    validation = {s.text for s in generate_lines(config, "validation", 0, 40, fonts)}
    assert not train & validation
    assert all(split_of(t, config.validation_fraction) == "validation" for t in validation)


def test_font_missing_a_glyph_is_never_used(config, fonts, tmp_path):
    # a real font file that lacks "€" and "漢": the renderer must pick another or give up
    schola = next(f for f in book_fonts() if f.family == "TeX Gyre Schola" and f.style == "regular")
    renderer = LineRenderer(config, [schola], seed=1)
    assert renderer.render("a 漢 b") is None
    assert renderer.render("plain words") is not None


def test_unknown_config_key_is_rejected(tmp_path):
    bad = tmp_path / "synth.yaml"
    bad.write_text("num_lines: 10\nnum_linez: 20\n")
    with pytest.raises(ConfigError, match=r"unknown key.*num_linez"):
        load_config(SynthConfig, bad)


def test_cli_writes_a_complete_data_set(tmp_path, capsys):
    from crnn.cli.make_synth import main

    code = main(["-n", "30", "--name", "t", "--out-root", str(tmp_path), "-j", "1",
                            "--no-progress", "--seed", "5"])
    assert code == 0
    out_dir = tmp_path / "t"
    manifest = (out_dir / "manifest.json").read_text()
    assert '"train": 28' in manifest or '"train": 29' in manifest
    shards = sorted(out_dir.glob("shard-*.npz"))
    assert sum(len(read_shard(s).labels) for s in shards) == 30
    assert list((out_dir / "samples").glob("*.gt.txt"))


def test_cli_bad_config_is_a_one_line_error(tmp_path, capsys):
    bad = tmp_path / "synth.yaml"
    bad.write_text("colour: sepia\n")
    from crnn.cli.make_synth import main

    code = main(["--config", str(bad), "--out-root", str(tmp_path)])
    err = capsys.readouterr().err
    assert code == 2
    assert "unknown key" in err and len(err.strip().splitlines()) == 1


def test_select_fonts_names_a_missing_package():
    with pytest.raises(FontPackageMissingError):
        select_fonts(RenderConfig(font_packages=("fontpkg_not_installed",)))


def test_small_caps_split_and_render(config, fonts):
    assert small_caps_runs("Nemo's") == [("N", False), ("emo", True), ("'", False), ("s", True)]
    assert small_caps_runs("Straße") == [("S", False), ("tra", True), ("ß", False), ("e", True)]
    small = LineRenderer(replace(config, render=replace(config.render, small_caps_p=1.0)), fonts, seed=4)
    text = "Captain Nemo said nothing"

    def ink_extent(alpha):
        rows, cols = np.flatnonzero(alpha.max(axis=1) > 0.5), np.flatnonzero(alpha.max(axis=0) > 0.5)
        return rows[-1] - rows[0], cols[-1] - cols[0]

    # lowercase drawn in small caps looks like capitals of the small size, not like lowercase
    typesetter = Typesetter()
    as_small_caps = typesetter.render_alpha("nemo", fonts[0], 40, 1.0, small_caps_size=28)
    capitals = typesetter.render_alpha("NEMO", fonts[0], 28, 1.0)
    lowercase = typesetter.render_alpha("nemo", fonts[0], 40, 1.0)
    assert np.allclose(ink_extent(as_small_caps), ink_extent(capitals), atol=1)
    assert not np.allclose(ink_extent(as_small_caps), ink_extent(lowercase), atol=1)
    assert small.render(text).text == "CAPTAIN NEMO SAID NOTHING"


def test_wide_spacing_widens_lines(config, fonts):
    tight = LineRenderer(replace(config, render=replace(config.render, wide_space_p=0.0)), fonts, seed=9)
    loose = LineRenderer(replace(config, render=replace(config.render, wide_space_p=1.0)), fonts, seed=9)
    text = "a b c d e f g h"
    # the same seed draws the same font, size and degradations; only the spaces differ
    assert loose.render(text).image.shape[1] > 1.2 * tight.render(text).image.shape[1]


def test_shards_are_reused_only_while_config_and_code_are_unchanged(config, tmp_path, monkeypatch):
    synth = dataset_module
    small = replace(config, num_lines=20, sample_pngs=0)
    synth.build_dataset(small, tmp_path / "d", workers=1, progress=False)
    calls = []
    real_job = synth.run_shard_job
    monkeypatch.setattr(synth, "run_shard_job", lambda job: calls.append(job) or real_job(job))
    synth.build_dataset(small, tmp_path / "d", workers=1, progress=False)
    assert calls == []  # nothing changed: every shard kept
    monkeypatch.setattr(synth, "generator_fingerprint", lambda: "edited-renderer")
    synth.build_dataset(small, tmp_path / "d", workers=1, progress=False)
    assert len(calls) == 2  # the rendering code changed: both shards made again


def test_cached_glyphs_draw_what_pillow_draws(config, fonts):
    """Lines are composed from glyphs rasterized once, placed by advances and pair kerning; the result
    must match Pillow shaping the word itself (kerned pairs such as "AV", "To", "y." included)."""
    from PIL import Image, ImageDraw, ImageFont

    typesetter = Typesetter()
    differences = []
    for font in fonts:
        for word in ("AVAToy.", "\u201cWave,\u201d", "Nautilus;"):
            composed = typesetter.render_alpha(word, font, 28, 1.0)
            pil_font = ImageFont.truetype(str(font.path), 28)
            ascent, _ = pil_font.getmetrics()
            image = Image.new("L", (composed.shape[1], composed.shape[0]))
            ImageDraw.Draw(image).text((1.0, 1 + ascent), word, fill=255, font=pil_font, anchor="ls")
            shaped = np.asarray(image, np.float32) / 255
            differences.append(np.abs(composed - shaped).sum() / shaped.sum())
    # a glyph may land one pixel off where rounding differs; dropping the kerning moves whole letters
    assert np.mean(differences) < 0.02
    assert max(differences) < 0.25


def _drawn_line_alpha(text: str = "the quick brown fox jumps", scale: float = 1.0) -> np.ndarray:
    import cv2

    ink = np.zeros((40, 420), np.uint8)
    cv2.putText(ink, text, (8, 28), cv2.FONT_HERSHEY_SIMPLEX, scale, 255, 2, cv2.LINE_AA)
    text_height = 24
    margin = int(text_height * 0.6) + 4  # as the renderer pads the drawn ink
    return cv2.copyMakeBorder(ink, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0) / 255.0


def test_framing_check_keeps_clean_lines_and_drops_swamped_ones(config):
    import cv2

    from crnn.imaging import normalize_line

    geometry = config.geometry
    alpha = _drawn_line_alpha()
    clean = (230 - 200 * alpha).astype(np.uint8)
    assert framed_as_drawn(alpha, normalize_line(clean, geometry).shape[1], geometry)

    # faint ink under dark blotches as large as the letters, over the whole crop
    rng = np.random.default_rng(0)
    blotches = cv2.resize(rng.standard_normal((alpha.shape[0] // 10, alpha.shape[1] // 10)),
                          alpha.shape[::-1], interpolation=cv2.INTER_CUBIC) > 0.4
    swamped = np.where(blotches, 60, 200) - 40 * alpha
    swamped_line = normalize_line(swamped.astype(np.uint8), geometry)
    assert swamped_line.shape[1] < normalize_line(clean, geometry).shape[1] / 2
    assert not framed_as_drawn(alpha, swamped_line.shape[1], geometry)
    assert not framed_as_drawn(np.zeros_like(alpha), 100, geometry)


def test_renderer_drops_a_line_its_normalization_shrank(config, fonts, monkeypatch):
    synth = render_module
    renderer = LineRenderer(config, fonts, seed=5)
    # a few percent of lines are dropped anyway: ink swamped by noise or texture
    assert sum(renderer.render("a line of ordinary words") is not None for _ in range(10)) >= 8
    real_normalize = synth.normalize_line

    def squeezed(image, geometry):
        line = real_normalize(image, geometry)
        return line[:, : max(1, line.shape[1] // 3)]

    monkeypatch.setattr(synth, "normalize_line", squeezed)
    assert all(renderer.render("a line of ordinary words") is None for _ in range(10))


def test_legibility_check_keeps_a_clean_threshold_and_rejects_erased_or_blotted_strokes():
    import cv2

    alpha = _drawn_line_alpha()
    text_height = 24
    clean = np.where(alpha > 0.5, 0, 255).astype(np.uint8)
    assert binarization_is_legible(clean, alpha, text_height)

    # a threshold that lost the strokes under patches of faint ink: a third of the letters gone
    rng = np.random.default_rng(1)
    faint = cv2.resize(rng.standard_normal((alpha.shape[0] // 6, alpha.shape[1] // 6)), alpha.shape[::-1],
                       interpolation=cv2.INTER_CUBIC) > 0.3
    assert 0.2 < faint[alpha > 0.5].mean() < 0.5
    patchy = np.where((alpha > 0.5) & ~faint, 0, 255).astype(np.uint8)
    assert not binarization_is_legible(patchy, alpha, text_height)

    # a shadow or a heavy blur thresholded into blots that fill counters and spaces
    blotted = np.where(cv2.dilate((alpha > 0.5).astype(np.uint8), np.ones((7, 7), np.uint8)) > 0, 0, 255)
    assert not binarization_is_legible(blotted.astype(np.uint8), alpha, text_height)
    assert not binarization_is_legible(np.full_like(clean, 255), alpha, text_height)


def test_thinning_lightens_hairlines_without_deleting_them(config, fonts):
    always_thin = replace(config, degrade=replace(config.degrade, ink_thicken_p=0.0, ink_thin_p=1.0))
    renderer = LineRenderer(always_thin, fonts, seed=11)
    alpha = np.zeros((36, 60), np.float32)
    alpha[10:26, 10] = 1.0  # a one-pixel hairline
    alpha[10:26, 30:36] = 1.0  # a six-pixel stem
    thinned = renderer.degrader.ink_weight(alpha, height=36)
    assert 0.3 <= thinned[18, 10] <= 0.75
    assert thinned[18, 33] == 1.0
    assert thinned.sum() < alpha.sum()


def test_typewritten_lines_are_set_in_monospaced_faces(config):
    typed = replace(config, render=replace(config.render, typewriter_p=1.0))
    fonts = select_fonts(typed.render)
    assert any(f.typewriter for f in fonts) and any(not f.typewriter for f in fonts)
    samples = list(generate_lines(typed, "train", 0, 8, fonts))
    typewriter_names = {f.name for f in fonts if f.typewriter}
    assert len(samples) == 8 and all(s.font in typewriter_names for s in samples)


def test_without_typewriter_lines_no_typewriter_face_is_offered(config):
    plain = replace(config, render=replace(config.render, typewriter_p=0.0))
    assert not any(f.typewriter for f in select_fonts(plain.render))


def test_each_key_strike_has_its_own_ink_and_height():
    from crnn.synth.fonts import typewriter_fonts
    from crnn.synth.typeset import Strikes

    cursor = next(f for f in typewriter_fonts() if f.family == "TeX Gyre Cursor" and f.style == "regular")
    typesetter = Typesetter()
    even = typesetter.render_alpha("xxxxxxxxxxxx", cursor, 40, 1.0)
    struck = typesetter.render_alpha("xxxxxxxxxxxx", cursor, 40, 1.0,
                                     strikes=Strikes(np.random.default_rng(3), min_ink=0.5, jitter=0.05,
                                                     double_p=0.0))
    # a monospaced face: every x is one advance apart, so the columns of each glyph can be compared
    cell = even.shape[1] / 12

    def glyph_inks(alpha):
        return [float(alpha[:, int(i * cell):int((i + 1) * cell)].max()) for i in range(12)]

    assert max(glyph_inks(even)) - min(glyph_inks(even)) < 0.02
    inks = glyph_inks(struck)
    assert max(inks) - min(inks) > 0.15 and min(inks) >= 0.5 * max(glyph_inks(even)) - 0.02
    tops = [int(np.argmax(struck[:, int(i * cell):int((i + 1) * cell)].max(axis=1) > 0.1)) for i in range(12)]
    assert len(set(tops)) > 1  # the type bars land at different heights


def _column_gaps(alpha: np.ndarray) -> list[int]:
    """Widths of the blank column runs between inked columns."""
    inked = alpha.max(axis=0) > 0.3
    gaps, run, seen_ink = [], 0, False
    for column in inked:
        if column:
            if seen_ink and run:
                gaps.append(run)
            run, seen_ink = 0, True
        else:
            run += 1
    return gaps


def test_letter_spacing_sets_letters_apart_and_widens_word_spaces_by_as_much(fonts):
    typesetter = Typesetter()
    font = next(f for f in fonts if f.style == "regular")
    plain = typesetter.render_alpha("HOLD FAST", font, 30, 1.0)
    spaced = typesetter.render_alpha("HOLD FAST", font, 30, 1.0, letter_spacing=0.5)
    assert np.array_equal(plain, typesetter.render_alpha("HOLD FAST", font, 30, 1.0, letter_spacing=0.0))
    extra = 0.5 * 30
    # nine glyph advances widen (eight after letters, the space's); none after the last letter
    assert abs((spaced.shape[1] - plain.shape[1]) - 8 * extra) <= 2
    plain_gaps, spaced_gaps = sorted(_column_gaps(plain)), sorted(_column_gaps(spaced))
    assert len(spaced_gaps) == 7  # every letter stands apart
    assert min(spaced_gaps) >= extra - 1
    # the word space stays the widest gap: a reader can still tell words apart
    assert spaced_gaps[-1] >= max(plain_gaps) + extra - 1 and spaced_gaps[-1] > 1.5 * spaced_gaps[-2]


def test_letter_spaced_lines_keep_their_unspaced_label(config, fonts):
    spaced = LineRenderer(replace(config, render=replace(config.render, letter_spaced_p=1.0, typewriter_p=0.0)),
                          fonts, seed=9)
    plain = LineRenderer(replace(config, render=replace(config.render, letter_spaced_p=0.0, typewriter_p=0.0)),
                         fonts, seed=9)
    text = "a heading set apart"
    wide, narrow = spaced.render(text), plain.render(text)
    assert wide.text == narrow.text == text
    assert wide.image.shape[1] > 1.2 * narrow.image.shape[1]
