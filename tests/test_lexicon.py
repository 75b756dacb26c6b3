"""Beam search with a word list: known words earn a bonus, the rest a penalty, punctuation aside."""

import sys

import numpy as np
import pytest

from crnn.charset import Charset
from crnn.recognize.decoders import DECODERS, BeamDecoder, beam_decode, greedy_decode
from crnn.recognize.lexicon import WordList, english_words

CHARSET = Charset("bcehot ")  # indices: blank 0, b 1, c 2, e 3, h 4, o 5, t 6, space 7


def _line(frames: list[dict[str, float]]) -> np.ndarray:
    """Logits whose softmax gives each frame the probabilities listed (the rest to the blank)."""
    probs = np.full((len(frames), len(CHARSET) + 1), 1e-6)
    for t, frame in enumerate(frames):
        for ch, p in frame.items():
            probs[t, CHARSET.encode(ch)[0]] = p
        probs[t, 0] = max(1e-6, 1 - sum(frame.values()))
    return np.log(probs).astype(np.float32)


# "tbe co" read as greedy would, where the second letter is nearly as likely an "h"
THE_CO = [{"t": 0.95}, {}, {"b": 0.55, "h": 0.44}, {}, {"e": 0.95}, {" ": 0.95}, {"c": 0.95}, {}, {"o": 0.95}]


def test_a_word_of_the_list_wins_over_a_likelier_non_word():
    logits = _line(THE_CO)
    assert greedy_decode(logits, len(THE_CO), CHARSET).text == "tbe co"
    assert beam_decode(logits, len(THE_CO), CHARSET, 8).text == "tbe co"
    words = WordList(frozenset({"the", "co"}))
    assert beam_decode(logits, len(THE_CO), CHARSET, 8, words).text == "the co"


def test_without_a_better_word_the_beam_reads_as_before():
    logits = _line(THE_CO)
    words = WordList(frozenset({"cot"}))  # neither reading is a word: both pay the same
    assert beam_decode(logits, len(THE_CO), CHARSET, 8, words).text == "tbe co"


def test_word_scores_ignore_punctuation_case_digits_and_single_letters():
    words = WordList(frozenset({"the", "don't"}), weight=2.0)
    assert words.score("(The,") == 2.0
    assert words.score("Don’t") == 2.0  # typographic apostrophe
    assert words.score("tbe") == -2.0
    assert words.score("1939") == 0.0 and words.score("a") == 0.0 and words.score("--") == 0.0


def test_the_words_decoder_is_registered_with_an_english_list():
    pytest.importorskip("wordfreq")
    decoder = DECODERS["words"](beam_width=4)
    assert isinstance(decoder, BeamDecoder) and decoder.beam_width == 4
    assert decoder.words is english_words()
    assert {"the", "house", "government"} <= decoder.words.words


def test_the_words_decoder_without_wordfreq_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    import cv2

    from crnn.cli.ocr_page import main

    page = tmp_path / "page.png"
    cv2.imwrite(str(page), np.full((200, 300), 255, np.uint8))
    monkeypatch.setitem(sys.modules, "wordfreq", None)  # as if not installed
    english_words.cache_clear()
    try:
        assert main([str(page), "--decoder", "words"]) == 2
    finally:
        english_words.cache_clear()
    err = capsys.readouterr().err.strip()
    assert "wordfreq" in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_a_batch_with_the_words_decoder_but_without_wordfreq_is_a_one_line_error(monkeypatch, capsys, tmp_path):
    import cv2

    from crnn.cli.ocr_batch import main

    pages = tmp_path / "in"
    pages.mkdir()
    cv2.imwrite(str(pages / "page.png"), np.full((200, 300), 255, np.uint8))
    monkeypatch.setitem(sys.modules, "wordfreq", None)  # as if not installed
    english_words.cache_clear()
    try:
        code = main([str(pages), "--output-dir", str(tmp_path / "out"), "--workers", "1", "--decoder", "words"])
    finally:
        english_words.cache_clear()
    err = capsys.readouterr().err.strip()
    assert code == 2 and "wordfreq" in err and "Traceback" not in err
