import threading

import numpy as np
import pytest

from crnn.threads import default_threads, ordered_map


def test_ordered_map_keeps_the_order_and_spreads_over_threads(monkeypatch):
    monkeypatch.setenv("CRNN_THREADS", "2")
    barrier = threading.Barrier(2, timeout=10)

    def work(item):
        if item < 2:
            barrier.wait()  # the first two items only finish when both run at once
        return item * item, threading.current_thread().name

    results = ordered_map(work, range(8))
    assert [value for value, _ in results] == [i * i for i in range(8)]
    assert len({name for _, name in results[:2]}) == 2


def test_one_thread_runs_in_the_caller(monkeypatch):
    monkeypatch.setenv("CRNN_THREADS", "1")
    caller = threading.current_thread().name
    assert {name for name in ordered_map(lambda _: threading.current_thread().name, range(6))} == {caller}


def test_a_map_inside_a_worker_runs_there_instead_of_waiting_on_the_pool(monkeypatch):
    monkeypatch.setenv("CRNN_THREADS", "2")

    def outer(item):
        return sum(ordered_map(lambda x: x + item, range(5), min_items=1))

    assert ordered_map(outer, range(4), min_items=1) == [sum(range(5)) + 5 * i for i in range(4)]


def test_a_bad_thread_setting_is_a_clear_error(monkeypatch):
    monkeypatch.setenv("CRNN_THREADS", "two")
    with pytest.raises(ValueError, match="CRNN_THREADS must be a whole number"):
        default_threads()
    assert ordered_map(np.square, [1, 2, 3, 4]) == [1, 4, 9, 16]  # the layout still runs, alone


def test_the_layout_is_the_same_on_one_thread_and_on_two(monkeypatch):
    from crnn.layout import segment_page
    from crnn.synth.pages import PageGenerator

    spread = PageGenerator(5).generate(two_pages=True).image
    layouts = []
    for threads in ("1", "2"):
        monkeypatch.setenv("CRNN_THREADS", threads)
        layouts.append(segment_page(spread))
    one, two = layouts
    assert len(one.lines) > 10
    assert [line.box for line in one.lines] == [line.box for line in two.lines]
    assert all(np.array_equal(a.crop, b.crop) for a, b in zip(one.lines, two.lines, strict=True))
    assert one.page_boxes == two.page_boxes and len(one.page_boxes) == 2
