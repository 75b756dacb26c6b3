"""Which line of a page transcription is which line the layout cut? Pairs that can be trusted as training data.

A page transcription in the Distributed Proofreaders convention leaves out the page's first
printed line (running head, page number) and rejoins a word hyphenated at a line end onto the
upper line; other transcriptions differ from the print elsewhere. :func:`pair_lines` walks the
read lines and the transcription's lines in order and keeps a pair only when it is
unambiguous: the read line is close to one transcription line (within ``max_cer``) and clearly
closer to it than to its neighbours, and neither line is touched by a rejoined hyphenation.
The transcription's text, not the reading, is the label.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

import editdistance

from crnn.charset import normalize

# typographic characters and the ASCII a transcription may write for them, one for one
_TYPOGRAPHY = str.maketrans({"“": '"', "”": '"', "„": '"', "‘": "'", "’": "'", "—": "-", "–": "-"})


@dataclass(frozen=True)
class LinePairing:
    """A read line (its index on the page) and the transcription line that is its text."""

    read_index: int
    truth_index: int
    truth: str  # the label: the transcription line, in the print's typography (label_for)
    cer: float  # of the reading against the transcription line


def _cer(hypothesis: str, reference: str) -> float:
    return editdistance.eval(hypothesis, reference) / max(1, len(reference))


def _hyphenated(text: str) -> bool:
    """Ends in a word broken at the line end (``exam-``), which a transcription may have rejoined."""
    stripped = text.rstrip()
    return len(stripped) >= 2 and stripped[-1] in "-\u00ad" and stripped[-2].isalpha()


def _same_length(read: str, truth: str) -> bool:
    """Letters and marks (spaces aside) nearly as many: a recognition error rarely adds or drops a word,
    a transcription that moved a word to the next line does."""
    a, b = len("".join(read.split())), len("".join(truth.split()))
    return abs(a - b) <= max(2, 0.08 * b)


def label_for(read: str, truth: str) -> str:
    """The transcription's text, with the print's typography where the two differ only in it.

    A transcription may write ASCII quotes and dashes where the page prints typographic ones;
    where the reading and the transcription agree up to that, the reading's characters (what
    the print shows) are kept, so the label does not teach the model to read a curly quote as
    a straight one.
    """
    folded_read, folded_truth = read.translate(_TYPOGRAPHY), truth.translate(_TYPOGRAPHY)
    out = []
    matcher = difflib.SequenceMatcher(None, folded_read, folded_truth, autojunk=False)
    for tag, r0, r1, t0, t1 in matcher.get_opcodes():
        out.append(read[r0:r1] if tag == "equal" else truth[t0:t1])
    return "".join(out)


def pair_lines(read: list[str], truth: list[str], omits_first_line: bool = False, max_cer: float = 0.25,
               margin: float = 0.15, window: int = 3) -> list[LinePairing]:
    """Unambiguous (read line, transcription line) pairs, in page order.

    ``read`` are the texts the reader gave the page's lines, ``truth`` the transcription's
    non-empty lines. A read line is paired with the transcription line among the next
    ``window`` (after the last paired one) that it matches best, if that match has at most
    ``max_cer``, about as many characters (:func:`_same_length`), and every other candidate is at
    least ``margin`` worse. The label is :func:`label_for` the pair. A read line that ends
    in a hyphen, or follows one that does, is not paired (its transcription line may hold a
    word it does not); nor is a transcription line that rejoined a word this way.
    """
    read = [" ".join(normalize(line).split()) for line in read]
    truth = [" ".join(normalize(line).split()) for line in truth if line.strip()]
    pairs: list[LinePairing] = []
    start = 1 if omits_first_line and read else 0
    next_truth = 0
    for index in range(start, len(read)):
        text = read[index]
        if not text or _hyphenated(text) or (index > 0 and _hyphenated(read[index - 1])):
            continue
        candidates = list(range(next_truth, min(len(truth), next_truth + window)))
        if not candidates:
            break
        scored = sorted((_cer(text, truth[j]), j) for j in candidates)
        best_cer, best = scored[0]
        runner_up = scored[1][0] if len(scored) > 1 else 1.0
        if best_cer > max_cer or runner_up - best_cer < margin or not _same_length(text, truth[best]):
            continue
        next_truth = best + 1
        # a rejoined hyphenation makes the transcription line longer than the printed one at its end
        if best + 1 < len(truth) and _cer(text, truth[best]) > 0 and len(truth[best]) > len(text) + 2 \
                and truth[best].startswith(text[: max(1, len(text) - 2)]):
            continue
        pairs.append(LinePairing(index, best, label_for(text, truth[best]), best_cer))
    return pairs
