"""The committed checkpoint on real and rendered pages (regression guards, not tuning targets)."""

import re
from pathlib import Path

import pytest

from crnn.evaluation.metrics import score_page
from crnn.pipeline import PageReader
from crnn.recognize import DEFAULT_CHECKPOINT

# The project's bar on the reference page (its measured figures are in checkpoints/README.md and
# docs/benchmarks.md). A regression guard, not a tuning target.
REFERENCE_CER_BAR = 0.01
REFERENCE_WER_BAR = 0.03

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(not (DEFAULT_CHECKPOINT / "model.keras").is_file(), reason="no committed checkpoint"),
]


@pytest.fixture(scope="module")
def reader():
    return PageReader()


def test_reference_page_stays_under_the_bar(reader, reference_page):
    image, truth = reference_page
    result = reader.read(image)
    lines = [line.text for line in result.page.lines]
    score = score_page(truth, lines)
    assert len(lines) == len(truth)
    assert score.cer <= REFERENCE_CER_BAR, f"CER {score.cer:.4f}"
    assert score.wer <= REFERENCE_WER_BAR, f"WER {score.wer:.4f}"


def test_rendered_page_is_read(reader):
    from crnn.synth.pages import PageGenerator

    page = PageGenerator(11).generate(two_pages=False)
    result = reader.read(page.image)
    score = score_page([t.text for t in page.lines], [line.text for line in result.page.lines])
    assert score.cer < 0.05


def test_demo_command(capsys):
    from crnn.cli.ocr_page import main

    assert main(["--demo"]) == 0
    out = capsys.readouterr().out
    assert "== demo page" in out
    cer = float(re.search(r"lines \(truth: \d+\), CER ([\d.]+)%", out).group(1))
    assert cer < 5.0  # the committed model reads its own rendered page


def test_letter_spaced_lines_are_read_as_words(reader):
    """Headings and captions set letter-spaced come out as words, not as rows of single letters."""
    import dataclasses

    import editdistance

    from crnn.config import load_config
    from crnn.synth.config import SynthConfig
    from crnn.synth.render import LineRenderer, select_fonts

    config = load_config(SynthConfig, Path(__file__).resolve().parent.parent / "configs" / "synth.yaml")
    config = dataclasses.replace(config, render=dataclasses.replace(config.render, letter_spaced_p=1.0,
                                                                    typewriter_p=0.0))
    renderer = LineRenderer(config, select_fonts(config.render), seed=77)
    texts = ["THE TERRA-COTTA ROOFS", "Chapter the Second", "INTRODUCTORY REMARKS", "a word set apart here",
             "NOTICE TO READERS", "The Old Harbour", "BY THE AUTHOR OF", "PREFACE.", "Part the First", "CONTENTS"]
    samples = [sample for sample in map(renderer.render, texts) if sample is not None]
    read = reader.recognize_lines([sample.image for sample in samples])
    edits = sum(editdistance.eval(s.text, r.text) for s, r in zip(samples, read, strict=True))
    assert len(samples) >= 8 and edits / sum(len(s.text) for s in samples) < 0.2
