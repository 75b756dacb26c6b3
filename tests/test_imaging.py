import numpy as np
import pytest

from crnn.imaging import median, percentile


@pytest.mark.parametrize("dtype", [np.uint8, np.int32, np.int64, np.float64])
def test_median_and_percentile_give_numpys_figures(dtype):
    rng = np.random.default_rng(7)
    for size in [*range(1, 40), 257, 1000]:
        values = (rng.random(size) * 250).astype(dtype)
        assert median(values) == float(np.median(values))
        for percent in (0, 5, 20, 33.3, 50, 75, 90, 99, 100):
            assert percentile(values, percent) == float(np.percentile(values, percent)), (size, percent)


def test_median_and_percentile_of_nothing_are_nan():
    assert np.isnan(median([])) and np.isnan(percentile(np.array([]), 90))
