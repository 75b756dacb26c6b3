"""CTC decoding of recognizer logits: greedy (best path), prefix beam search, and beam search
biased towards the words of a word list (``crnn.recognize.lexicon``).

Decoders are registered by name in :data:`DECODERS`; each returns :class:`Decoded`
with the text, a confidence, and for each output
character the frame span it was read from (for word boxes).

Confidence: the probability of each output character is the highest softmax
probability among the frames that emitted it; the line confidence is the
minimum over its characters (1.0 for an empty line). The minimum, not the mean,
because one doubtful character is enough to make a line wrong, and a
correction workflow should surface exactly those lines.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from crnn.charset import Charset
from crnn.recognize.lexicon import WordList, english_words


@dataclass(frozen=True)
class Decoded:
    """One decoded line: its text, confidence, and the frames each character was read from."""

    text: str
    confidence: float  # minimum per-character probability, see the module docstring
    char_confidences: tuple[float, ...]
    spans: tuple[tuple[int, int], ...]  # per character: first and last frame (inclusive)


def softmax(logits: np.ndarray) -> np.ndarray:
    """Softmax over the last axis."""
    shifted = logits - logits.max(axis=-1, keepdims=True)
    exp = np.exp(shifted)
    return exp / exp.sum(axis=-1, keepdims=True)


def greedy_decode(logits: np.ndarray, length: int, charset: Charset) -> Decoded:
    """Best-path decoding of one line's logits ``(frames, classes)``, first ``length`` frames."""
    probs = softmax(np.asarray(logits[:length], dtype=np.float64))
    path = probs.argmax(axis=-1)
    # the best path's runs of one label, found with array operations: each run is one character
    frames = np.flatnonzero(path)
    if not len(frames):
        return Decoded("", 1.0, (), ())
    labels = path[frames]
    starts = np.flatnonzero(np.concatenate([[True], (np.diff(frames) > 1) | (labels[1:] != labels[:-1])]))
    ends = np.concatenate([starts[1:], [len(frames)]]) - 1
    best = np.maximum.reduceat(probs[frames, labels], starts)
    run_labels = labels[starts].tolist()
    confidences = tuple(best.tolist())
    spans = tuple(zip(frames[starts].tolist(), frames[ends].tolist(), strict=True))
    return Decoded(charset.decode(run_labels), min(confidences), confidences, spans)


def greedy_decode_batch(logits: np.ndarray, lengths: np.ndarray, charset: Charset) -> list[Decoded]:
    """:func:`greedy_decode` of each line of a batch."""
    return [greedy_decode(logits[i], int(lengths[i]), charset) for i in range(len(lengths))]


def beam_decode(logits: np.ndarray, length: int, charset: Charset, beam_width: int = 8,
                words: WordList | None = None) -> Decoded:
    """CTC prefix beam search over one line's logits; confidences come from the best prefix's path.

    Prefix probabilities are summed over all alignments (blank-ending and
    non-blank-ending kept apart, as CTC prefix search requires). Per-character
    confidences and spans are taken from the frames where each character of the
    winning prefix was last extended. With ``words``, beams are ranked by their log
    probability plus the word list's score of each word they have finished.
    """
    probs = softmax(np.asarray(logits[:length], dtype=np.float64))
    frames = probs.shape[0]
    space = charset.encode(" ")[0] if words is not None and charset.can_encode(" ") else -1

    def finished(prefix: tuple[int, ...]) -> float:  # the word list's score of the prefix's last word
        return words.score(charset.decode(list(prefix)).rsplit(" ", 1)[-1]) if words is not None and prefix else 0.0

    # beams: prefix -> (p_blank, p_nonblank, frames where each char was emitted, word score so far)
    beams: dict[tuple[int, ...], list] = {(): [1.0, 0.0, (), 0.0]}
    for t in range(frames):
        p = probs[t]
        candidates = np.argsort(p)[::-1][: max(beam_width, 2)]
        nxt: dict[tuple[int, ...], list] = {}

        def entry(prefix: tuple[int, ...], emitted: tuple[int, ...], score: float, nxt=nxt) -> list:
            if prefix not in nxt:
                nxt[prefix] = [0.0, 0.0, emitted, score]
            return nxt[prefix]

        for prefix, (pb, pnb, emitted, score) in beams.items():
            total = pb + pnb
            e = entry(prefix, emitted, score)
            e[0] += total * p[0]
            if prefix:
                e[1] += pnb * p[prefix[-1]]
            for c in candidates:
                c = int(c)
                if c == 0:
                    continue
                extended = (*prefix, c)
                ended = c == space and extended not in nxt and prefix and prefix[-1] != space
                e2 = entry(extended, (*emitted, t), score + finished(prefix) if ended else score)
                if prefix and prefix[-1] == c:
                    e2[1] += pb * p[c]
                else:
                    e2[1] += total * p[c]
        ranked = sorted(nxt.items(), key=lambda kv: _rank(kv[1]), reverse=True)[:beam_width]
        norm = sum(v[0] + v[1] for _, v in ranked) or 1.0
        beams = {k: [v[0] / norm, v[1] / norm, v[2], v[3]] for k, v in ranked}
    best, (_, _, emitted, _) = max(beams.items(), key=lambda kv: _rank(kv[1]) + finished(kv[0]))
    confidences = []
    spans = []
    for c, t in zip(best, emitted, strict=True):
        end = t
        while end + 1 < frames and probs[end + 1].argmax() == c:
            end += 1
        confidences.append(float(probs[t : end + 1, c].max()))
        spans.append((t, end))
    text = charset.decode(list(best))
    return Decoded(text, min(confidences) if confidences else 1.0, tuple(confidences), tuple(spans))


def _rank(beam: list) -> float:
    """A beam's log probability plus its word score (0 without a word list: the probability's order)."""
    return math.log(beam[0] + beam[1] + 1e-300) + beam[3]


class Decoder(Protocol):
    """Turns one line's logits into a :class:`Decoded`."""

    def __call__(self, logits: np.ndarray, length: int, charset: Charset) -> Decoded:
        """Decode the first ``length`` frames of ``logits`` ``(frames, classes)``."""
        ...


@dataclass(frozen=True)
class GreedyDecoder:
    """Best-path decoding (:func:`greedy_decode`)."""

    def __call__(self, logits: np.ndarray, length: int, charset: Charset) -> Decoded:
        return greedy_decode(logits, length, charset)


@dataclass(frozen=True)
class BeamDecoder:
    """CTC prefix beam search (:func:`beam_decode`) with ``beam_width`` beams, and a word list if given."""

    beam_width: int = 8
    words: WordList | None = None

    def __post_init__(self) -> None:
        if self.beam_width < 1:
            raise ValueError("the beam width must be at least 1")

    def __call__(self, logits: np.ndarray, length: int, charset: Charset) -> Decoded:
        return beam_decode(logits, length, charset, self.beam_width, self.words)


# name -> factory taking the decoder options (beam_width); a factory ignores options it does not use
DECODERS: dict[str, Callable[..., Decoder]] = {
    "greedy": lambda **options: GreedyDecoder(),
    "beam": lambda beam_width=8, **options: BeamDecoder(beam_width),
    "words": lambda beam_width=8, **options: BeamDecoder(beam_width, english_words()),
}


def make_decoder(name: str, **options: int) -> Decoder:
    """The decoder registered as ``name`` with its options; ``ValueError`` for an unknown name."""
    try:
        factory = DECODERS[name]
    except KeyError:
        raise ValueError(f"unknown decoder {name!r} (one of {', '.join(DECODERS)})") from None
    return factory(**options)


def decode_batch(logits: np.ndarray, lengths: np.ndarray, charset: Charset,
                 decoder: Decoder | str = "greedy") -> list[Decoded]:
    """Decode each line of a batch with ``decoder`` (a :class:`Decoder`, or a name in :data:`DECODERS`)."""
    if isinstance(decoder, str):
        decoder = make_decoder(decoder)
    return [decoder(logits[i], int(lengths[i]), charset) for i in range(len(lengths))]
