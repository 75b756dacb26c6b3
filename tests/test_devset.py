"""A regression guard on the real-page development set (``../shared/devset/eval``): no page comes
out empty, and each folder stays under a CER bound and above a line-recall bound.

The bounds sit a little above what ``make eval-real`` measured with the committed model (the
``real_pages`` section of ``docs/benchmarks.md``), with room for the machine-to-machine noise of
floating point; a change that pushes a folder past its bound has made real pages worse. The test skips cleanly where the
development set is absent.
"""

import pytest

from crnn.evaluation.folders import evaluate_engine, find_items

pytestmark = pytest.mark.slow

# folder: (mode, the transcription omits the first printed line, max folded CER, min line recall)
BOUNDS = {
    "dp_eugenics": ("page", True, 0.003, 0.995),
    "dp_greatlakes": ("page", True, 0.004, 0.995),
    "dp_pascal": ("page", True, 0.006, 0.995),
    "songbooks": ("page", False, 0.065, 0.95),
    "typescripts": ("page", False, 0.04, 0.97),
    "magazines": ("page", False, 0.09, 0.93),
    "typescript_lines": ("line", False, 0.11, 0.91),
}


@pytest.fixture(scope="module")
def engine():
    from crnn.pipeline import PageReader
    from crnn.pipeline.engine import ReaderEngine

    return ReaderEngine(PageReader())


@pytest.mark.parametrize("folder", sorted(BOUNDS))
def test_real_pages_stay_within_their_bounds(shared_dir, engine, folder):
    path = shared_dir / "devset" / "eval" / folder
    if not path.is_dir():
        pytest.skip(f"{path} not present")
    mode, omits_first_line, max_cer, min_recall = BOUNDS[folder]
    result = evaluate_engine(engine, find_items(path), mode, omits_first_line)
    empty = [item.item for item in result.items if item.counts.output_chars == 0]
    assert not empty, f"items read as nothing: {empty}"
    counts = result.counts
    assert counts.cer <= max_cer, f"{folder}: CER {counts.cer:.4f} above its bound {max_cer}"
    assert counts.line_recall >= min_recall, f"{folder}: line recall {counts.line_recall:.4f} below {min_recall}"
