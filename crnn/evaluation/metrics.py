"""Character and word error rates, and a line alignment for error reports.

Both rates are Levenshtein distances (``editdistance``) divided by the reference
length, micro-averaged: the distances of all lines (or pages) are summed and
divided by the summed reference lengths, so long lines weigh more than short
ones. Texts are NFC-normalized and their whitespace collapsed first; with
``fold=True`` typographic quotes, dashes and the ellipsis are folded to ASCII
as well, which separates "wrong letter" errors from "curly vs straight quote"
errors.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

import editdistance

_TYPOGRAPHY_FOLDS = str.maketrans(
    {
        "\u201c": '"',  # “
        "\u201d": '"',  # ”
        "\u201e": '"',  # „
        "\u00ab": '"',  # «
        "\u00bb": '"',  # »
        "\u2018": "'",  # ‘
        "\u2019": "'",  # ’
        "\u201a": "'",  # ‚
        "\u2032": "'",  # ′
        "\u2014": "-",  # —
        "\u2013": "-",  # –
        "\u2012": "-",  # ‒
        "\u2010": "-",  # ‐
        "\u2011": "-",  # non-breaking hyphen
        "\u2026": "...",  # …
        "\u00a0": " ",  # no-break space
    }
)
_WHITESPACE = re.compile(r"\s+")


def fold_typography(text: str) -> str:
    """Map typographic quotes, dashes and the ellipsis to their ASCII stand-ins."""
    return text.translate(_TYPOGRAPHY_FOLDS)


def normalize_for_scoring(text: str, fold: bool = False) -> str:
    """NFC, optional typography folding, whitespace runs collapsed to one space, stripped."""
    text = unicodedata.normalize("NFC", text)
    if fold:
        text = fold_typography(text)
    return _WHITESPACE.sub(" ", text).strip()


@dataclass(frozen=True)
class ErrorRate:
    """``errors`` edit operations against ``reference_length`` reference units."""

    errors: int
    reference_length: int

    @property
    def rate(self) -> float:
        """errors / reference length; an empty reference scores 0.0 if nothing was inserted, else 1.0."""
        if self.reference_length == 0:
            return 0.0 if self.errors == 0 else 1.0
        return self.errors / self.reference_length

    def __add__(self, other: ErrorRate) -> ErrorRate:
        return ErrorRate(self.errors + other.errors, self.reference_length + other.reference_length)


def _as_list(texts: str | Sequence[str]) -> list[str]:
    return [texts] if isinstance(texts, str) else list(texts)


def _paired(references: str | Sequence[str], hypotheses: str | Sequence[str]) -> list[tuple[str, str]]:
    refs, hyps = _as_list(references), _as_list(hypotheses)
    if len(refs) != len(hyps):
        raise ValueError(f"{len(refs)} references but {len(hyps)} hypotheses")
    return list(zip(refs, hyps, strict=True))


def character_errors(
    references: str | Sequence[str], hypotheses: str | Sequence[str], fold: bool = False
) -> ErrorRate:
    """Micro-averaged character edit distance over paired texts."""
    total = ErrorRate(0, 0)
    for ref, hyp in _paired(references, hypotheses):
        ref, hyp = normalize_for_scoring(ref, fold), normalize_for_scoring(hyp, fold)
        total += ErrorRate(editdistance.eval(ref, hyp), len(ref))
    return total


def word_errors(
    references: str | Sequence[str], hypotheses: str | Sequence[str], fold: bool = False
) -> ErrorRate:
    """Micro-averaged edit distance over whitespace-separated tokens."""
    total = ErrorRate(0, 0)
    for ref, hyp in _paired(references, hypotheses):
        ref_words = normalize_for_scoring(ref, fold).split()
        hyp_words = normalize_for_scoring(hyp, fold).split()
        total += ErrorRate(editdistance.eval(ref_words, hyp_words), len(ref_words))
    return total


def cer(references: str | Sequence[str], hypotheses: str | Sequence[str], fold: bool = False) -> float:
    """Character error rate (see the module docstring for normalization)."""
    return character_errors(references, hypotheses, fold).rate


def wer(references: str | Sequence[str], hypotheses: str | Sequence[str], fold: bool = False) -> float:
    """Word error rate on whitespace tokens (see the module docstring for normalization)."""
    return word_errors(references, hypotheses, fold).rate


@dataclass(frozen=True)
class LinePair:
    """One row of an alignment: a reference line, a hypothesis line, or both."""

    reference: str | None
    hypothesis: str | None

    @property
    def errors(self) -> int:
        ref = normalize_for_scoring(self.reference or "")
        hyp = normalize_for_scoring(self.hypothesis or "")
        return int(editdistance.eval(ref, hyp))


def align_lines(references: Sequence[str], hypotheses: Sequence[str]) -> list[LinePair]:
    """Pair hypothesis lines with reference lines, in order, minimizing total character edits.

    A dynamic programme over the two line sequences: pairing two lines costs their
    edit distance, leaving a line unpaired costs its length. Missing lines come out
    as ``LinePair(ref, None)``, spurious ones as ``LinePair(None, hyp)``.
    """
    refs = [normalize_for_scoring(r) for r in references]
    hyps = [normalize_for_scoring(h) for h in hypotheses]
    n, m = len(refs), len(hyps)
    # cost[i][j]: best cost of aligning refs[:i] with hyps[:j]
    cost = [[0] * (m + 1) for _ in range(n + 1)]
    for i in range(1, n + 1):
        cost[i][0] = cost[i - 1][0] + max(len(refs[i - 1]), 1)
    for j in range(1, m + 1):
        cost[0][j] = cost[0][j - 1] + max(len(hyps[j - 1]), 1)
    for i in range(1, n + 1):
        for j in range(1, m + 1):
            cost[i][j] = min(
                cost[i - 1][j - 1] + editdistance.eval(refs[i - 1], hyps[j - 1]),
                cost[i - 1][j] + max(len(refs[i - 1]), 1),
                cost[i][j - 1] + max(len(hyps[j - 1]), 1),
            )
    pairs: list[LinePair] = []
    i, j = n, m
    while i > 0 or j > 0:
        if i > 0 and j > 0 and cost[i][j] == cost[i - 1][j - 1] + editdistance.eval(refs[i - 1], hyps[j - 1]):
            pairs.append(LinePair(references[i - 1], hypotheses[j - 1]))
            i, j = i - 1, j - 1
        elif i > 0 and cost[i][j] == cost[i - 1][j] + max(len(refs[i - 1]), 1):
            pairs.append(LinePair(references[i - 1], None))
            i -= 1
        else:
            pairs.append(LinePair(None, hypotheses[j - 1]))
            j -= 1
    pairs.reverse()
    return pairs


def mark_differences(reference: str, hypothesis: str) -> tuple[str, str]:
    """Both texts with the spans that differ wrapped in ⟦ ⟧ (an empty ⟦⟧ marks a deletion point)."""
    import difflib

    ref, hyp = normalize_for_scoring(reference), normalize_for_scoring(hypothesis)
    ref_out, hyp_out = [], []
    for op, a0, a1, b0, b1 in difflib.SequenceMatcher(None, ref, hyp, autojunk=False).get_opcodes():
        if op == "equal":
            ref_out.append(ref[a0:a1])
            hyp_out.append(hyp[b0:b1])
        else:
            ref_out.append(f"⟦{ref[a0:a1]}⟧")
            hyp_out.append(f"⟦{hyp[b0:b1]}⟧")
    return "".join(ref_out), "".join(hyp_out)


@dataclass(frozen=True)
class PageScore:
    cer: float
    wer: float
    cer_folded: float
    wer_folded: float
    character_errors: int
    reference_characters: int
    pairs: tuple[LinePair, ...]


def score_page(reference_lines: Sequence[str], hypothesis_lines: Sequence[str]) -> PageScore:
    """Page-level CER/WER (lines joined by spaces) raw and typography-folded, plus a line alignment."""
    ref, hyp = " ".join(reference_lines), " ".join(hypothesis_lines)
    chars = character_errors(ref, hyp)
    return PageScore(
        cer=chars.rate, wer=wer(ref, hyp), cer_folded=cer(ref, hyp, fold=True), wer_folded=wer(ref, hyp, fold=True),
        character_errors=chars.errors, reference_characters=chars.reference_length,
        pairs=tuple(align_lines(list(reference_lines), list(hypothesis_lines))),
    )


def format_report(score: PageScore, title: str = "") -> str:
    """A Markdown report: the rates, then each wrong line beside its reference with differences marked."""
    out = [f"## {title}" if title else "## Evaluation", "",
           "| metric | raw | typography folded |", "| --- | --- | --- |",
           f"| CER | {100 * score.cer:.2f}% ({score.character_errors}/{score.reference_characters}) "
           f"| {100 * score.cer_folded:.2f}% |",
           f"| WER | {100 * score.wer:.2f}% | {100 * score.wer_folded:.2f}% |", ""]
    wrong = [p for p in score.pairs if p.errors or p.reference is None or p.hypothesis is None]
    if not wrong:
        out.append("Every line matches its reference.")
    else:
        out.append(f"{len(wrong)} line(s) differ (differences in ⟦ ⟧):")
        out.append("")
        for pair in wrong:
            ref_marked, hyp_marked = mark_differences(pair.reference or "", pair.hypothesis or "")
            out.append(f"- ref: `{ref_marked if pair.reference is not None else '(no line)'}`")
            out.append(f"  ocr: `{hyp_marked if pair.hypothesis is not None else '(missing)'}`")
    return "\n".join(out) + "\n"
