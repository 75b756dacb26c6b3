"""Scoring OCR engines on folders of real pages or lines with their transcriptions beside them.

A folder follows the convention of tesstrain, Calamari and kraken: an image ``X.png``
(or ``.jpg``, ``.tif``, ...) with its transcription ``X.gt.txt`` beside it. A folder is
read in *page* mode (each image is a page; the engine finds the lines) or *line* mode
(each image is one text line).

Scoring compares like with like, whatever the engine:

- NFC, and whitespace runs collapsed; the headline figure also folds typographic quotes,
  apostrophes and dashes to ASCII (the raw figure is kept beside it);
- a page's lines are joined into one text, a hyphen at a line end between two letters
  removed (transcriptions differ on whether they rejoin hyphenated words; this makes
  both sides agree);
- for transcriptions that leave out the page's first printed line (a running head and
  page number), the hypothesis's first line is dropped before scoring;
- CER and WER are micro-averaged per folder (summed edits over summed reference length).

Line recall counts the reference lines that an engine's output contains: a reference line
is found when an output line is within half its length in edits, each output line standing
for one reference line at most. The in-order line alignment pairs lines first; a reference
line it leaves unfound may still be found out of order (a caption or heading read where it
stands on the page, which a transcription made zone by zone puts elsewhere): reading order
is what the page CER scores, recall whether the text was found at all. A page read across
its columns (its output lines mix two lines), or a line the layout lost, lowers it.
"""

from __future__ import annotations

import re
import time
import unicodedata
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

import editdistance

from crnn.evaluation.metrics import ErrorRate, align_lines, mark_differences, normalize_for_scoring
from crnn.io import DOCUMENT_SUFFIXES

GT_SUFFIX = ".gt.txt"
MODES = ("auto", "page", "line")
_LINE_END_HYPHEN = re.compile(r"(?<=[^\W\d_])-$")
_LINE_START_LETTER = re.compile(r"^[^\W\d_]")
FOUND_MAX_EDIT_FRACTION = 0.5  # a reference line is found when its paired output is this close
LINE_MODE_MAX_HEIGHT = 200  # auto mode: one-line transcriptions of images this low are line crops


class EvaluationError(Exception):
    """A folder cannot be evaluated (missing, or holding no transcribed images)."""


class Engine(Protocol):
    """An OCR engine under test: reads a page image into lines, or line images into one text each."""

    name: str

    def read_page(self, image: Path) -> list[str]:
        """The text lines of one page image, in reading order."""
        ...

    def read_lines(self, images: Sequence[Path]) -> list[str]:
        """The text of each image, each read as one text line."""
        ...


@dataclass(frozen=True)
class GroundTruthItem:
    """One image and its transcription's lines (blank lines dropped)."""

    image: Path
    reference: tuple[str, ...]

    @property
    def name(self) -> str:
        return self.image.name


@dataclass(frozen=True)
class SkippedItem:
    """A file of the folder that was not scored, and why."""

    path: str
    reason: str


@dataclass(frozen=True)
class FolderItems:
    """The scorable items of a folder and the files that were skipped."""

    folder: Path
    items: tuple[GroundTruthItem, ...]
    skipped: tuple[SkippedItem, ...]


def find_items(folder: Path) -> FolderItems:
    """The images and PDFs of ``folder`` that have a non-empty ``X.gt.txt`` beside them, in name order
    (a PDF is one item: its pages' lines in order, against one transcription).

    An image without a transcription, an empty or undecodable transcription, or a transcription
    without an image is skipped with its reason; a folder with nothing to score is an
    :class:`EvaluationError`.
    """
    if not folder.is_dir():
        raise EvaluationError(f"not a folder: {folder}")
    items: list[GroundTruthItem] = []
    skipped: list[SkippedItem] = []
    images = {p.name[: -len(p.suffix)]: p for p in sorted(folder.iterdir())
              if p.is_file() and p.suffix.lower() in DOCUMENT_SUFFIXES}
    for stem, image in sorted(images.items()):
        gt = folder / (stem + GT_SUFFIX)
        if not gt.is_file():
            skipped.append(SkippedItem(image.name, "no transcription beside it"))
            continue
        try:
            text = gt.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            skipped.append(SkippedItem(gt.name, f"unreadable transcription ({exc.__class__.__name__})"))
            continue
        lines = tuple(line.strip() for line in unicodedata.normalize("NFC", text).splitlines() if line.strip())
        if not lines:
            skipped.append(SkippedItem(gt.name, "empty transcription"))
            continue
        items.append(GroundTruthItem(image, lines))
    for gt in sorted(folder.glob("*" + GT_SUFFIX)):
        if gt.name[: -len(GT_SUFFIX)] not in images:
            skipped.append(SkippedItem(gt.name, "no image beside it"))
    if not items:
        raise EvaluationError(f"no image with a transcription (X.png + X{GT_SUFFIX}) in {folder}")
    return FolderItems(folder, tuple(items), tuple(skipped))


def guess_mode(items: Sequence[GroundTruthItem], image_height: Callable[[Path], int | None]) -> str:
    """``line`` when every transcription is one line and the images are line-sized, else ``page``."""
    if any(len(item.reference) != 1 for item in items):
        return "page"
    sample = items[:: max(1, len(items) // 20)]
    heights = [image_height(item.image) for item in sample]
    return "line" if all(h is not None and h <= LINE_MODE_MAX_HEIGHT for h in heights) else "page"


def join_page_lines(lines: Sequence[str]) -> str:
    """One text for a page: lines joined by spaces, a line-end hyphen between letters removed."""
    text = ""
    for raw in lines:
        line = raw.strip()
        if not line:
            continue
        if text and _LINE_END_HYPHEN.search(text) and _LINE_START_LETTER.match(line):
            text = text[:-1] + line
        else:
            text = f"{text} {line}" if text else line
    return text


def rejoin_hyphenated(lines: Sequence[str]) -> list[str]:
    """Lines with a word hyphenated at a line end rejoined onto the upper line, as proofreaders do.

    Applied to both sides before lines are aligned, so a transcription that rejoins and an OCR
    output that keeps the break pair line for line.
    """
    out = [line.strip() for line in lines if line.strip()]
    for i in range(len(out) - 1):
        if _LINE_END_HYPHEN.search(out[i]) and _LINE_START_LETTER.match(out[i + 1]):
            head, _, rest = out[i + 1].partition(" ")
            out[i] = out[i][:-1] + head
            out[i + 1] = rest.strip()
    return [line for line in out if line]


@dataclass(frozen=True)
class Counts:
    """Edit counts of one item or a folder: characters raw and folded, words folded, lines found."""

    char_errors: int = 0
    char_errors_raw: int = 0
    ref_chars: int = 0
    ref_chars_raw: int = 0
    word_errors: int = 0
    ref_words: int = 0
    lines_found: int = 0
    ref_lines: int = 0
    output_chars: int = 0  # what the engine read (folded), 0 for an item read as nothing

    def __add__(self, other: Counts) -> Counts:
        return Counts(*(a + b for a, b in zip(asdict(self).values(), asdict(other).values(), strict=True)))

    @property
    def cer(self) -> float:
        """Typography-folded character error rate (the headline figure)."""
        return ErrorRate(self.char_errors, self.ref_chars).rate

    @property
    def cer_raw(self) -> float:
        return ErrorRate(self.char_errors_raw, self.ref_chars_raw).rate

    @property
    def wer(self) -> float:
        """Typography-folded word error rate."""
        return ErrorRate(self.word_errors, self.ref_words).rate

    @property
    def line_recall(self) -> float:
        return self.lines_found / self.ref_lines if self.ref_lines else 1.0


@dataclass(frozen=True)
class LineError:
    """A reference line beside what an engine read for it (``None``: nothing was paired with it)."""

    item: str
    reference: str | None
    hypothesis: str | None
    errors: int


def score_texts(reference: str, hypothesis: str) -> Counts:
    """Counts for one pair of texts (no line recall)."""
    ref_f, hyp_f = normalize_for_scoring(reference, fold=True), normalize_for_scoring(hypothesis, fold=True)
    ref_r, hyp_r = normalize_for_scoring(reference), normalize_for_scoring(hypothesis)
    return Counts(
        char_errors=int(editdistance.eval(ref_f, hyp_f)), char_errors_raw=int(editdistance.eval(ref_r, hyp_r)),
        ref_chars=len(ref_f), ref_chars_raw=len(ref_r),
        word_errors=int(editdistance.eval(ref_f.split(), hyp_f.split())), ref_words=len(ref_f.split()),
        output_chars=len(hyp_f),
    )


def score_page_lines(item: str, reference: Sequence[str], hypothesis: Sequence[str],
                     omits_first_line: bool = False) -> tuple[Counts, list[LineError]]:
    """Counts and line errors of one page read against its transcription (rules in the module docstring)."""
    hyp = [line for line in hypothesis if line.strip()]
    if omits_first_line:
        hyp = hyp[1:]
    counts = score_texts(join_page_lines(reference), join_page_lines(hyp))
    errors: list[LineError] = []
    found = 0
    reference_lines = rejoin_hyphenated(reference)
    unfound: list[str] = []
    unused: list[str] = []
    for pair in align_lines(reference_lines, rejoin_hyphenated(hyp)):
        if pair.reference is not None and pair.hypothesis is not None:
            edits = int(editdistance.eval(normalize_for_scoring(pair.reference, fold=True),
                                          normalize_for_scoring(pair.hypothesis, fold=True)))
            if _close_enough(edits, pair.reference):
                found += 1
            else:
                unfound.append(pair.reference)
                unused.append(pair.hypothesis)
        else:
            edits = len(normalize_for_scoring(pair.reference or pair.hypothesis or "", fold=True))
            (unfound if pair.reference is not None else unused).append(pair.reference or pair.hypothesis or "")
        if edits:
            errors.append(LineError(item, pair.reference, pair.hypothesis, edits))
    found += found_out_of_order(unfound, unused)
    return counts + Counts(lines_found=found, ref_lines=len(reference_lines)), errors


def _close_enough(edits: int, reference: str) -> bool:
    return edits <= FOUND_MAX_EDIT_FRACTION * len(normalize_for_scoring(reference, fold=True))


def found_out_of_order(references: Sequence[str], hypotheses: Sequence[str]) -> int:
    """How many of ``references`` an output line of ``hypotheses`` matches (within half the reference's
    length in edits), in any order, each output line matching one reference at most: the closest
    pairs are taken first."""
    refs = [normalize_for_scoring(r, fold=True) for r in references]
    hyps = [normalize_for_scoring(h, fold=True) for h in hypotheses]
    candidates = []
    for i, ref in enumerate(refs):
        for j, hyp in enumerate(hyps):
            edits = editdistance.eval(ref, hyp) if hyp else len(ref) + 1
            if edits <= FOUND_MAX_EDIT_FRACTION * len(ref):
                candidates.append((edits / max(len(ref), 1), i, j))
    candidates.sort()
    taken_refs: set[int] = set()
    taken_hyps: set[int] = set()
    for _, i, j in candidates:
        if i not in taken_refs and j not in taken_hyps:
            taken_refs.add(i)
            taken_hyps.add(j)
    return len(taken_refs)


def score_line(item: str, reference: str, hypothesis: str) -> tuple[Counts, list[LineError]]:
    """Counts of one line image read against its one-line transcription."""
    counts = score_texts(reference, hypothesis)
    found = int(counts.char_errors <= FOUND_MAX_EDIT_FRACTION * max(counts.ref_chars, 1) and bool(hypothesis.strip()))
    errors = [LineError(item, reference, hypothesis, counts.char_errors)] if counts.char_errors else []
    return counts + Counts(lines_found=found, ref_lines=1), errors


@dataclass(frozen=True)
class ItemResult:
    """One item as one engine read it."""

    item: str
    counts: Counts
    seconds: float
    error: str | None = None  # the engine failed on this item; it scores as if it read nothing


@dataclass(frozen=True)
class EngineResult:
    """One engine over one folder."""

    engine: str
    items: tuple[ItemResult, ...]
    worst_lines: tuple[LineError, ...]

    @property
    def counts(self) -> Counts:
        total = Counts()
        for item in self.items:
            total += item.counts
        return total

    @property
    def seconds(self) -> float:
        return sum(item.seconds for item in self.items)

    @property
    def failed(self) -> int:
        return sum(item.error is not None for item in self.items)


@dataclass(frozen=True)
class FolderResult:
    """Every engine over one folder, with the folder's mode and skipped files."""

    folder: str
    mode: str
    omits_first_line: bool
    items: int
    skipped: tuple[SkippedItem, ...]
    engines: tuple[EngineResult, ...] = field(default_factory=tuple)


EngineError = (OSError, ValueError, RuntimeError)  # what an engine may raise for one bad item


def evaluate_engine(engine: Engine, folder: FolderItems, mode: str, omits_first_line: bool = False,
                    worst: int = 10, line_batch: int = 64,
                    progress: Callable[[int], None] | None = None) -> EngineResult:
    """Run ``engine`` over the folder's items and score them; ``progress(n)`` is told of each ``n`` items done."""
    results: list[ItemResult] = []
    errors: list[LineError] = []
    if mode == "line":
        items = folder.items
        for start in range(0, len(items), line_batch):
            chunk = items[start:start + line_batch]
            started = time.perf_counter()
            texts, failures = _read_line_chunk(engine, [item.image for item in chunk])
            seconds = (time.perf_counter() - started) / len(chunk)
            for item, text, failure in zip(chunk, texts, failures, strict=True):
                counts, line_errors = score_line(item.name, " ".join(item.reference), text)
                results.append(ItemResult(item.name, counts, seconds, failure))
                errors += line_errors
            if progress:
                progress(len(chunk))
    else:
        for item in folder.items:
            started = time.perf_counter()
            failure = None
            try:
                lines = engine.read_page(item.image)
            except EngineError as exc:
                lines, failure = [], f"{exc.__class__.__name__}: {exc}"
            seconds = time.perf_counter() - started
            counts, line_errors = score_page_lines(item.name, item.reference, lines, omits_first_line)
            results.append(ItemResult(item.name, counts, seconds, failure))
            errors += line_errors
            if progress:
                progress(1)
    errors.sort(key=lambda e: (-e.errors, e.item))
    return EngineResult(engine.name, tuple(results), tuple(errors[:worst]))


def _read_line_chunk(engine: Engine, images: list[Path]) -> tuple[list[str], list[str | None]]:
    """The chunk read in one call; if that fails, image by image, so one bad image costs only itself."""
    try:
        return engine.read_lines(images), [None] * len(images)
    except EngineError:
        texts: list[str] = []
        failures: list[str | None] = []
        for image in images:
            try:
                texts.append(engine.read_lines([image])[0])
                failures.append(None)
            except EngineError as exc:
                texts.append("")
                failures.append(f"{exc.__class__.__name__}: {exc}")
        return texts, failures


def result_as_dict(result: FolderResult) -> dict:
    """A JSON-ready dictionary of one folder's result, rates included."""
    def engine_dict(engine: EngineResult) -> dict:
        c = engine.counts
        return {
            "engine": engine.engine, "cer": c.cer, "cer_raw": c.cer_raw, "wer": c.wer,
            "line_recall": c.line_recall, "seconds": engine.seconds, "failed": engine.failed,
            "counts": asdict(c),
            "items": [{"item": i.item, "cer": i.counts.cer, "cer_raw": i.counts.cer_raw, "wer": i.counts.wer,
                       "line_recall": i.counts.line_recall, "seconds": i.seconds, "error": i.error,
                       "counts": asdict(i.counts)} for i in engine.items],
            "worst_lines": [asdict(e) for e in engine.worst_lines],
        }

    return {"folder": result.folder, "mode": result.mode, "omits_first_line": result.omits_first_line,
            "items": result.items, "skipped": [asdict(s) for s in result.skipped],
            "engines": [engine_dict(e) for e in result.engines]}


def _pct(value: float) -> str:
    return f"{100 * value:.2f}%"


def _code(text: str | None) -> str:
    return "`" + text.replace("`", "'") + "`" if text else "(nothing)"


def format_summary(results: Sequence[FolderResult]) -> list[str]:
    """The summary table: one row per folder and engine."""
    out = ["| folder | mode | items | engine | CER folded (raw) | WER | line recall | s/item |",
           "| --- | --- | --- | --- | --- | --- | --- | --- |"]
    for result in results:
        for engine in result.engines:
            c = engine.counts
            failed = f" ({engine.failed} failed)" if engine.failed else ""
            out.append(f"| {result.folder} | {result.mode} | {result.items}{failed} | {engine.engine} | "
                       f"{_pct(c.cer)} ({_pct(c.cer_raw)}) | {_pct(c.wer)} | {_pct(c.line_recall)} | "
                       f"{engine.seconds / max(len(engine.items), 1):.3f} |")
    return out


def format_folder(result: FolderResult, max_rows: int = 60) -> list[str]:
    """One folder's section: per-item rows (every engine side by side), skipped files, worst lines."""
    names = [e.engine for e in result.engines]
    rules = f"{result.mode} mode" + (", first printed line not transcribed" if result.omits_first_line else "")
    out = [f"## {result.folder} ({rules})", ""]
    header = "| item | ref chars | " + " | ".join(f"{n} CER | {n} lines | {n} s" for n in names) + " |"
    out += [header, "|" + " --- |" * (2 + 3 * len(names))]
    rows = list(zip(*(e.items for e in result.engines), strict=True))
    if result.mode == "line":  # hundreds of lines: the worst rows by the first engine, not all of them
        rows.sort(key=lambda r: -r[0].counts.char_errors)
    for row in rows[:max_rows]:
        cells = []
        for item in row:
            cer = _pct(item.counts.cer) + (" (failed)" if item.error else "")
            cells.append(f"{cer} | {item.counts.lines_found}/{item.counts.ref_lines} | {item.seconds:.2f}")
        out.append(f"| {row[0].item} | {row[0].counts.ref_chars} | " + " | ".join(cells) + " |")
    if len(rows) > max_rows:
        out.append(f"\n({len(rows) - max_rows} more items in the JSON result)")
    if result.skipped:
        out += ["", f"Skipped {len(result.skipped)} file(s):"]
        out += [f"- {s.path}: {s.reason}" for s in result.skipped]
    for engine in result.engines:
        if not engine.worst_lines:
            continue
        out += ["", f"Worst lines, {engine.engine} (differences in ⟦ ⟧):", ""]
        for line in engine.worst_lines:
            ref, hyp = mark_differences(line.reference or "", line.hypothesis or "")
            out.append(f"- {line.item}, {line.errors} edits")
            out.append(f"  - ref: {_code(ref) if line.reference is not None else '(no line)'}")
            out.append(f"  - ocr: {_code(hyp) if line.hypothesis is not None else '(missing)'}")
    return [*out, ""]


def format_results(results: Sequence[FolderResult], header: Sequence[str] = ()) -> str:
    """The whole Markdown report."""
    out = ["# Real-page evaluation", "", *header, "", *format_summary(results), ""]
    for result in results:
        out += format_folder(result)
    return "\n".join(out)
