import numpy as np
import pytest

from crnn.charset import Charset
from crnn.recognize.decoders import DECODERS, BeamDecoder, beam_decode, decode_batch, greedy_decode, make_decoder

CHARSET = Charset("abc ")


def _logits(path, peak=8.0, classes=5):
    logits = np.zeros((len(path), classes), np.float32)
    for t, label in enumerate(path):
        logits[t, label] = peak
    return logits


def test_greedy_collapses_repeats_and_drops_blanks():
    # a a _ a b b _ _ c  ->  "aabc"
    decoded = greedy_decode(_logits([1, 1, 0, 1, 2, 2, 0, 0, 3]), 9, CHARSET)
    assert decoded.text == "aabc"
    assert decoded.spans == ((0, 1), (3, 3), (4, 5), (8, 8))
    assert len(decoded.char_confidences) == 4


def test_greedy_respects_the_frame_count():
    assert greedy_decode(_logits([1, 0, 2, 3]), 2, CHARSET).text == "a"


def test_confidence_is_the_minimum_character_probability():
    logits = _logits([1, 0, 2])
    logits[2] = [0, 0, 1.0, 0, 0]  # "b" only weakly preferred
    decoded = greedy_decode(logits, 3, CHARSET)
    assert decoded.text == "ab"
    assert decoded.confidence == pytest.approx(min(decoded.char_confidences))
    assert decoded.char_confidences[0] > 0.9 > decoded.confidence


def test_empty_line_has_confidence_one():
    decoded = greedy_decode(_logits([0, 0, 0]), 3, CHARSET)
    assert decoded.text == "" and decoded.confidence == 1.0


def test_beam_matches_greedy_on_confident_logits():
    logits = _logits([1, 1, 0, 1, 2, 0, 4, 3])
    assert beam_decode(logits, 8, CHARSET, beam_width=4).text == greedy_decode(logits, 8, CHARSET).text


def test_beam_finds_the_more_probable_label_that_greedy_misses():
    # per frame: P(blank)=0.4, P(a)=0.35, P(b)=0.25. Greedy reads "" (all blanks), but the
    # label "a" summed over its alignments is more probable than the empty label.
    probs = np.array([[0.4, 0.35, 0.25, 0, 0]] * 2) + 1e-9
    logits = np.log(probs)
    assert greedy_decode(logits, 2, CHARSET).text == ""
    assert beam_decode(logits, 2, CHARSET, beam_width=4).text == "a"


def test_decode_batch_rejects_unknown_method():
    with pytest.raises(ValueError, match="unknown decoder 'viterbi'"):
        decode_batch(_logits([1])[None], np.array([1]), CHARSET, "viterbi")
    with pytest.raises(ValueError, match="at least 1"):
        make_decoder("beam", beam_width=0)


def test_registered_decoders_agree_on_confident_logits():
    logits = _logits([1, 1, 0, 2, 4, 3, 0, 3])[None]
    texts = {name: decode_batch(logits, np.array([8]), CHARSET, make_decoder(name, beam_width=4))[0].text
             for name in DECODERS}
    assert set(texts) == {"greedy", "beam", "words"} and set(texts.values()) == {"ab cc"}
    assert make_decoder("beam", beam_width=3) == BeamDecoder(3)


def test_greedy_decoding_collapses_the_best_path_with_each_characters_frames_and_best_probability():
    charset = Charset()
    rng = np.random.default_rng(7)
    for _ in range(200):
        frames = int(rng.integers(1, 40))
        logits = rng.normal(scale=3.0, size=(frames, charset.num_classes)).astype(np.float32)
        logits[:, 0] += 2.0  # blanks between most characters, as a trained model gives
        logits[: frames // 3, 5] += 6.0  # and a run of one character over several frames
        decoded = greedy_decode(logits, frames, charset)
        probs = np.exp(logits - logits.max(axis=1, keepdims=True))
        probs /= probs.sum(axis=1, keepdims=True)
        path = probs.argmax(axis=1)
        runs = [(t, t) for t in range(frames) if path[t] and (t == 0 or path[t - 1] != path[t])]
        runs = [(a, next((u - 1 for u in range(a + 1, frames) if path[u] != path[a]), frames - 1)) for a, _ in runs]
        assert decoded.spans == tuple(runs)
        assert decoded.text == charset.decode([int(path[a]) for a, _ in runs])
        for (a, b), confidence in zip(runs, decoded.char_confidences, strict=True):
            assert confidence == pytest.approx(probs[a : b + 1, path[a]].max(), abs=1e-6)
        assert decoded.confidence == (min(decoded.char_confidences) if runs else 1.0)
