"""Narrowing the gaps of a framed line that are wider than any word space."""

import numpy as np

from crnn.imaging import close_wide_gaps, reopened_x


def _line(rng, width=600):
    line = np.full((32, width), 255, np.uint8)
    x = int(rng.integers(2, 20))
    while x < width - 30:
        stroke = int(rng.integers(2, 14))
        line[8:24, x : x + stroke] = int(rng.integers(0, 120))
        x += stroke + int(rng.choice([1, 3, 8, 30, 60, 150]))
    return line


def _blank_runs(line):
    ink = line.min(axis=0) < 160
    columns = np.flatnonzero(ink)
    runs, start = [], None
    for x in range(columns[0], columns[-1] + 1):
        if not ink[x] and start is None:
            start = x
        elif ink[x] and start is not None:
            runs.append(x - start)
            start = None
    return runs


def test_wide_gaps_are_narrowed_and_every_ink_column_maps_back_to_where_it_was():
    rng = np.random.default_rng(4)
    for _ in range(50):
        line = _line(rng)
        narrowed, closed = close_wide_gaps(line, 48, 24)
        assert max(_blank_runs(narrowed), default=0) <= 48
        assert sorted(_blank_runs(narrowed)) == sorted(min(g, 24) if g > 48 else g for g in _blank_runs(line))
        before = np.flatnonzero(line.min(axis=0) < 160)
        after = np.flatnonzero(narrowed.min(axis=0) < 160)
        assert [reopened_x(x, closed) for x in after] == before.tolist()
        assert narrowed.shape[1] == line.shape[1] - sum(removed for _, removed in closed)


def test_a_line_without_wide_gaps_is_left_as_it_is():
    line = np.full((32, 200), 255, np.uint8)
    line[8:24, 20:30] = 0
    line[8:24, 60:70] = 0
    narrowed, closed = close_wide_gaps(line, 48, 24)
    assert narrowed is line and closed == ()
    assert close_wide_gaps(np.full((32, 50), 255, np.uint8), 48, 24)[1] == ()
