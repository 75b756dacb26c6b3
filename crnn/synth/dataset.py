"""Synthetic line data sets: shards generated in parallel, a manifest, sample pairs and a preview.

Lines are drawn by :class:`crnn.synth.render.LineRenderer` and written in the shard
format of ``crnn.data.shards``; a shard's bytes depend only on the config, the seed and
the shard index, and shards already complete from an earlier run with the same config
and code are kept.
"""

from __future__ import annotations

import hashlib
import json
import sys
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from crnn.charset import Charset
from crnn.config import to_dict
from crnn.data.datasets import write_line_pair
from crnn.data.shards import SHARD_FORMAT_VERSION, read_shard, write_shard
from crnn.io import atomic_write_text
from crnn.synth.config import SynthConfig
from crnn.synth.fonts import BookFont, can_render
from crnn.synth.render import LineRenderer, LineSample, seed_for, select_fonts
from crnn.synth.text import LineTextGenerator


def split_of(text: str, validation_fraction: float) -> str:
    """'train' or 'validation', decided by the text alone, so the splits never share a line."""
    bucket = int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:4], "little") / 2**32
    return "validation" if bucket < validation_fraction else "train"


@dataclass(frozen=True)
class ShardJob:
    config: SynthConfig
    split: str
    index: int
    count: int
    out_dir: Path
    font_paths: tuple[str, ...]


def shard_path(out_dir: Path, split: str, index: int) -> Path:
    """The file of shard ``index`` of a split."""
    return out_dir / f"shard-{split}-{index:05d}.npz"


def generate_lines(config: SynthConfig, split: str, index: int, count: int,
                   fonts: list[BookFont]) -> Iterator[LineSample]:
    """The samples of one shard: text drawn and filtered to the split, then rendered."""
    charset = Charset()
    seed = seed_for(config.seed, split, index)
    texts = LineTextGenerator(config.text, charset, seed)
    renderer = LineRenderer(config, fonts, seed)
    produced = 0
    while produced < count:
        text = texts.next_line().strip()
        if not text or split_of(text, config.validation_fraction) != split:
            continue
        sample = renderer.render(text)
        # a small-caps label differs from its text: it must belong to the split as well
        if sample is not None and split_of(sample.text, config.validation_fraction) == split:
            produced += 1
            yield sample


@dataclass(frozen=True, order=True)
class ShardResult:
    """A written shard: its path, line count, and how often each character and font occur in it."""

    path: str
    lines: int
    characters: dict[str, int]
    fonts: dict[str, int]

    @property
    def split(self) -> str:
        return "validation" if "-validation-" in Path(self.path).name else "train"


def run_shard_job(job: ShardJob) -> ShardResult:
    """Generate and write one shard."""
    fonts = [f for f in select_fonts(job.config.render) if str(f.path) in job.font_paths]
    samples = list(generate_lines(job.config, job.split, job.index, job.count, fonts))
    path = shard_path(job.out_dir, job.split, job.index)
    write_shard(path, samples, [f.name for f in fonts])
    chars = Counter("".join(s.text for s in samples))
    font_counts = Counter(s.font for s in samples)
    return ShardResult(str(path), len(samples), dict(chars), dict(font_counts))


def plan_shards(config: SynthConfig, out_dir: Path, fonts: list[BookFont]) -> list[ShardJob]:
    """The shards a data set consists of: validation first, then train, at most ``shard_size`` lines each."""
    n_val = int(round(config.num_lines * config.validation_fraction))
    jobs = []
    paths = tuple(str(f.path) for f in fonts)
    for split, total in (("validation", n_val), ("train", config.num_lines - n_val)):
        for index, start in enumerate(range(0, total, config.shard_size)):
            count = min(config.shard_size, total - start)
            jobs.append(ShardJob(config, split, index, count, out_dir, paths))
    return jobs


def write_manifest(out_dir: Path, config: SynthConfig, fonts: list[BookFont], results: list[ShardResult]) -> dict:
    """Write ``manifest.json``: the config, charset, fonts, shards by split and character statistics."""
    chars: Counter[str] = Counter()
    font_counts: Counter[str] = Counter()
    shards: dict[str, list[dict[str, object]]] = {"train": [], "validation": []}
    for result in sorted(results, key=lambda r: r.path):
        chars.update(result.characters)
        font_counts.update(result.fonts)
        shards[result.split].append({"file": Path(result.path).name, "lines": result.lines})
    charset = Charset()
    manifest = {
        "format_version": SHARD_FORMAT_VERSION,
        "name": config.name,
        "seed": config.seed,
        "generator": generator_fingerprint(),
        "config": to_dict(config),
        "charset": charset.to_dict(),
        "fonts": [f.name for f in fonts],
        "counts": {split: sum(s["lines"] for s in items) for split, items in shards.items()},
        "shards": shards,
        "character_frequencies": dict(sorted(chars.items(), key=lambda kv: -kv[1])),
        "characters_never_seen": [c for c in charset.characters if c not in chars],
        "font_frequencies": dict(sorted(font_counts.items(), key=lambda kv: -kv[1])),
    }
    atomic_write_text(out_dir / "manifest.json", json.dumps(manifest, ensure_ascii=False, indent=1) + "\n")
    return manifest


def write_samples(out_dir: Path, shard_file: Path, limit: int) -> None:
    """PNG + .gt.txt pairs (the tesstrain convention) for the first lines of a shard."""
    samples_dir = out_dir / "samples"
    samples_dir.mkdir(exist_ok=True)
    shard = read_shard(shard_file)
    for i, (image, label) in enumerate(zip(shard.images[:limit], shard.labels[:limit], strict=True)):
        write_line_pair(samples_dir, f"line-{i:04d}", image, label)


def contact_sheet(images: list[np.ndarray], labels: list[str] | None = None, width: int = 1000) -> np.ndarray:
    """Stack line images (and optionally their labels, ASCII-safe) into one picture."""
    rows = []
    for i, image in enumerate(images):
        line = image[:, :width]
        canvas = np.full((image.shape[0] + 6, width), 255, np.uint8)
        canvas[3 : 3 + line.shape[0], : line.shape[1]] = line
        rows.append(canvas)
        if labels is not None:
            caption = np.full((16, width), 255, np.uint8)
            text = labels[i].encode("ascii", "replace").decode()
            cv2.putText(caption, text[:140], (2, 12), cv2.FONT_HERSHEY_PLAIN, 0.9, 90, 1, cv2.LINE_AA)
            rows.append(caption)
    return np.vstack(rows) if rows else np.full((10, width), 255, np.uint8)


class SynthError(RuntimeError):
    """A data set cannot be generated (bad configuration, missing fonts, full disk)."""


def check_corpus_encodable(config: SynthConfig, charset: Charset, probe_lines: int = 2000) -> None:
    """Fail early if the text generator produces characters the charset cannot encode."""
    texts = LineTextGenerator(config.text, charset, seed_for(config.seed, "probe"))
    for _ in range(probe_lines):
        line = texts.next_line()
        missing = charset.missing(line)
        if missing:
            raise SynthError(f"corpus produces characters outside the charset: {sorted(missing)!r} in {line!r}")


def generator_fingerprint() -> str:
    """A hash of the source of every module that decides a shard's bytes."""
    from crnn import charset
    from crnn.data import shards
    from crnn.imaging import framing, ops
    from crnn.synth import degrade, fonts, render, text, typeset

    digest = hashlib.sha256(str(SHARD_FORMAT_VERSION).encode())
    for module in (sys.modules[__name__], charset, shards, framing, ops, degrade, fonts, render, text, typeset):
        digest.update(Path(module.__file__).read_bytes())
    return digest.hexdigest()[:16]


def _single_threaded_worker() -> None:
    # one process per core already: OpenCV's own threads would only fight over the cores
    cv2.setNumThreads(1)


def build_dataset(config: SynthConfig, out_dir: Path, workers: int = 2, progress: bool = True) -> dict:
    """Generate every shard of ``config`` under ``out_dir`` in parallel, then the manifest and samples.

    Shards already complete from an earlier run with the same config are kept;
    the manifest is written last, so its presence means the data set is whole.
    """
    from multiprocessing import get_context

    from tqdm import tqdm

    charset = Charset()
    fonts = select_fonts(config.render)
    unusable = [f.name for f in fonts if not can_render(f, charset.characters.replace(" ", ""))]
    if len(unusable) == len(fonts):
        raise SynthError("no installed font covers the charset")
    check_corpus_encodable(config, charset)
    out_dir.mkdir(parents=True, exist_ok=True)
    config_file = out_dir / "config.json"
    # shards are reused only if both the config and the code that renders them are unchanged
    wanted = json.dumps({"config": to_dict(config), "generator": generator_fingerprint()}, sort_keys=True)
    if config_file.exists() and config_file.read_text(encoding="utf-8") != wanted:
        for stale in out_dir.glob("shard-*.npz"):
            stale.unlink()
        (out_dir / "manifest.json").unlink(missing_ok=True)
    config_file.write_text(wanted, encoding="utf-8")
    for partial in [*out_dir.glob("*.partial"), *out_dir.glob(".*.tmp")]:
        partial.unlink()

    jobs = plan_shards(config, out_dir, fonts)
    results = []
    todo = []
    for job in jobs:
        path = shard_path(out_dir, job.split, job.index)
        if path.exists():
            shard = read_shard(path)
            results.append(ShardResult(str(path), len(shard.labels), dict(Counter("".join(shard.labels))),
                                       dict(Counter(fonts[i].name for i in shard.font_ids))))
        else:
            todo.append(job)
    bar = tqdm(total=config.num_lines, initial=sum(r.lines for r in results), unit="line",
               desc=f"synth {config.name}", disable=not progress, file=sys.stderr)
    try:
        if workers <= 1:
            for job in todo:
                results.append(run_shard_job(job))
                bar.update(results[-1].lines)
        else:
            with get_context("fork").Pool(workers, initializer=_single_threaded_worker) as pool:
                for result in pool.imap_unordered(run_shard_job, todo):
                    results.append(result)
                    bar.update(result.lines)
    except OSError as exc:
        raise SynthError(f"cannot write shards to {out_dir}: {exc.strerror or exc}") from None
    finally:
        bar.close()
    manifest = write_manifest(out_dir, config, fonts, results)
    validation = [r.path for r in results if r.split == "validation"]
    if validation and config.sample_pngs:
        write_samples(out_dir, Path(sorted(validation)[0]), config.sample_pngs)
    return manifest


def write_preview(data_dir: Path, out_path: Path, count: int = 40, seed: int = 0) -> Path:
    """A contact sheet of ``count`` random validation lines with their labels, for a look at the data."""
    shards = sorted(data_dir.glob("shard-validation-*.npz")) or sorted(data_dir.glob("shard-train-*.npz"))
    if not shards:
        raise SynthError(f"no shards in {data_dir}: run `make synth` first")
    shard = read_shard(shards[0])
    rng = np.random.default_rng(seed)
    picks = rng.choice(len(shard.images), size=min(count, len(shard.images)), replace=False)
    sheet = contact_sheet([shard.images[i] for i in picks], [shard.labels[i] for i in picks])
    out_path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(out_path), sheet)
    return out_path
