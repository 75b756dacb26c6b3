"""Fine-tuning a trained recognizer on real line pairs, mixed with synthetic lines.

Real lines come from folders of ``X.png`` + ``X.gt.txt`` (the web app's ``corrections/``, the
dev set's ``train/typescript_lines``, line pairs cut from transcribed pages). Each is framed as
``line_framing`` says: ``as_read`` as the reader frames an image that is one line
(``crnn.layout.single_line_layout``: straightened, cut to its central line), ``normalize`` by
``crnn.imaging.normalize_line`` alone; an image that is already the model's line height (a
correction stores the crop the model read) is taken as it is. A share of every epoch's
samples (``real_fraction``) is real, the rest synthetic, so that the model keeps what it knew.
Validation, which picks the best checkpoint, is on real lines of pages held out of training
(grouped by page, never a line of a training page); the synthetic validation CER is logged
beside it to show what was forgotten.
"""

from __future__ import annotations

import hashlib
import re
import sys
from collections import Counter
from dataclasses import dataclass, field, replace
from pathlib import Path

import numpy as np

from crnn.charset import Charset
from crnn.data import DatasetError, FolderDataset, ShardDataset, load_manifest
from crnn.imaging import EmptyLineError, LineGeometry, normalize_line
from crnn.layout import LayoutConfig, segment_page
from crnn.recognize.checkpoint import CheckpointError, read_checkpoint
from crnn.recognize.model import can_fit
from crnn.training.batches import LineSet, load_lines
from crnn.training.config import TrainConfig, TrainingError
from crnn.training.provenance import file_sha256


@dataclass(frozen=True)
class FinetuneConfig:
    """A fine-tuning run (``configs/finetune.yaml``): where it starts, what it reads, its schedule."""

    checkpoint: str = "checkpoints/default"
    real: tuple[str, ...] = ("corrections",)  # folders of X.png + X.gt.txt line pairs
    synthetic: str = "data/synth/default"  # a synthetic data set to mix in; "" for none
    real_fraction: float = 0.5  # share of the samples drawn from the real lines
    real_shares: tuple[float, ...] = ()  # per folder of `real`, its share of the real samples; () for by size
    validation_fraction: float = 0.15  # share of the real pages held out for validation
    synthetic_validation_lines: int = 500
    seed: int = 11  # batch order and dropout
    # which pages are held out for validation: apart from ``seed``, so that another run over the same
    # folders (a second fine-tune, another seed) never validates on lines an earlier one trained on
    split_seed: int = 11
    batch_size: int = 32
    steps: int = 3000
    steps_per_epoch: int = 200
    learning_rate: float = 3e-4
    warmup_steps: int = 100
    final_learning_rate_fraction: float = 0.1
    clipnorm: float = 5.0
    bucket_batches: int = 20
    time_limit_minutes: float = 0.0
    average_last_epochs: int = 0  # as TrainConfig's: the mean of the last epochs' weights may be the best
    line_framing: str = "as_read"  # how a real line image is framed: a name in LINE_FRAMINGS

    def __post_init__(self) -> None:
        if self.line_framing not in LINE_FRAMINGS:
            raise ValueError(f"line_framing must be one of {', '.join(LINE_FRAMINGS)}")
        if not 0 < self.real_fraction <= 1:
            raise ValueError("real_fraction must be in (0, 1]")
        if not 0 < self.validation_fraction < 1:
            raise ValueError("validation_fraction must be in (0, 1)")
        if self.real_shares and (len(self.real_shares) != len(self.real) or min(self.real_shares) <= 0):
            raise ValueError("real_shares needs one positive share per folder of real")


def frame_as_read(image: np.ndarray, geometry: LineGeometry) -> np.ndarray:
    """A line image framed as the reader frames an image that is one line (``--single-line``)."""
    layout = segment_page(image, LayoutConfig(), geometry, single_line=True)
    if not layout.lines:
        raise EmptyLineError("no ink in the line image")
    return layout.lines[0].crop


LINE_FRAMINGS = {"as_read": frame_as_read, "normalize": normalize_line}


def page_of(stem: str) -> str:
    """The page a line pair belongs to, from its name: ``BOOK_p012_003`` -> ``BOOK_p012`` (a trailing
    line number dropped), so that held-out validation never shares a page with training."""
    return re.sub(r"[_-]\d+$", "", stem) or stem


def held_out(page: str, fraction: float, seed: int) -> bool:
    """Whether a page goes to validation: a stable hash of its name, the same in every run."""
    digest = hashlib.sha256(f"{seed}/{page}".encode()).digest()
    return int.from_bytes(digest[:8], "little") / 2**64 < fraction


@dataclass
class RealLines:
    """Real line pairs split by page, with what was skipped and why."""

    train: LineSet
    validation: LineSet
    counts: dict[str, dict[str, int]] = field(default_factory=dict)  # folder -> {"train", "validation", skips}
    folder_of_train_line: list[int] = field(default_factory=list)  # index into the folders, per train line


def load_real_lines(folders: list[Path], charset: Charset, geometry: LineGeometry, config: TrainConfig,
                    validation_fraction: float, seed: int, line_framing: str = "as_read") -> RealLines:
    """Frame and split the line pairs of ``folders``; lines whose text the charset cannot encode, that
    hold no ink, or are too narrow for their text are skipped and counted."""
    sets = {"train": LineSet([], [], []), "validation": LineSet([], [], [])}
    counts: dict[str, dict[str, int]] = {}
    origin: list[int] = []
    frame = LINE_FRAMINGS[line_framing]
    for folder_index, folder in enumerate(folders):
        tally: Counter[str] = Counter()
        try:
            dataset = FolderDataset(folder)
            for pair in dataset:
                text = " ".join(pair.text.split())
                if not text or not charset.can_encode(text):
                    tally["skipped_charset"] += 1
                    continue
                try:
                    image = pair.image if pair.image.shape[0] == geometry.height else frame(pair.image, geometry)
                except EmptyLineError:
                    tally["skipped_empty"] += 1
                    continue
                ids = charset.encode(text)
                if not can_fit(ids, image.shape[1], config.model):
                    tally["skipped_narrow"] += 1
                    continue
                split = "validation" if held_out(page_of(Path(pair.source).stem), validation_fraction, seed) \
                    else "train"
                sets[split].images.append(image)
                sets[split].labels.append(text)
                sets[split].encoded.append(ids)
                tally[split] += 1
                if split == "train":
                    origin.append(folder_index)
        except DatasetError as exc:
            raise TrainingError(str(exc)) from None
        counts[str(folder)] = {"train": 0, "validation": 0, **tally}
    return RealLines(sets["train"], sets["validation"], counts, origin)


@dataclass
class FinetuneData:
    """Everything a fine-tuning run trains and validates on, and its description for the checkpoint."""

    train: LineSet
    weights: np.ndarray  # sampling probability of each train line
    validation: LineSet  # real lines of held-out pages: picks the best checkpoint
    synthetic_validation: LineSet | None
    description: dict


def prepare_finetune(config: FinetuneConfig, root: Path) -> tuple[TrainConfig, FinetuneData, Path]:
    """The training config (the checkpoint's architecture, the fine-tuning schedule), the data, and the
    starting checkpoint's directory. Relative paths are relative to ``root``."""

    def resolve(path: str) -> Path:
        return Path(path) if Path(path).is_absolute() else root / path

    start = resolve(config.checkpoint)
    try:
        checkpoint = read_checkpoint(start)
    except CheckpointError as exc:
        raise TrainingError(str(exc)) from None
    train_config = TrainConfig(
        data=config.synthetic, seed=config.seed, batch_size=config.batch_size, steps=config.steps,
        steps_per_epoch=config.steps_per_epoch, learning_rate=config.learning_rate,
        warmup_steps=config.warmup_steps, final_learning_rate_fraction=config.final_learning_rate_fraction,
        clipnorm=config.clipnorm, validation_lines=config.synthetic_validation_lines,
        width_quantum=checkpoint.width_quantum, bucket_batches=config.bucket_batches,
        time_limit_minutes=config.time_limit_minutes, average_last_epochs=config.average_last_epochs,
        model=checkpoint.model_config)
    charset, geometry = checkpoint.charset, checkpoint.geometry
    folders = [resolve(folder) for folder in config.real]
    missing = [str(folder) for folder in folders if not folder.is_dir()]
    if missing:
        raise TrainingError(f"no such folder of line pairs: {', '.join(missing)}")
    real = load_real_lines(folders, charset, geometry, train_config, config.validation_fraction, config.split_seed,
                           config.line_framing)
    if not real.train.images or not real.validation.images:
        raise TrainingError(f"fine-tuning needs real lines for training and for validation (pages held out); "
                            f"found {len(real.train.images)} and {len(real.validation.images)} in "
                            f"{', '.join(map(str, folders))}")
    description: dict = {"start_checkpoint": str(start), "start_model_sha256": file_sha256(checkpoint.file("model")),
                         "real": real.counts, "real_fraction": config.real_fraction}
    if checkpoint.metadata.get("data"):
        # what the starting model had seen, so that a chain of fine-tunes keeps its whole history
        description["start_data"] = checkpoint.metadata["data"]
    train, synthetic_validation = real.train, None
    real_count = len(real.train.images)
    origin = np.asarray(real.folder_of_train_line)
    per_folder = np.bincount(origin, minlength=len(folders)).astype(np.float64)
    if config.real_shares:
        shares = np.asarray(config.real_shares, dtype=np.float64)
        if np.any((per_folder == 0) & (shares > 0)):
            empty = [str(folders[i]) for i in np.flatnonzero(per_folder == 0)]
            raise TrainingError(f"no training lines in {', '.join(empty)}, which real_shares gives a share")
        shares = shares / shares.sum()
        description["real_shares"] = {str(folder): round(float(share), 4) for folder, share in zip(folders, shares,
                                                                                                   strict=True)}
        real_weights = shares[origin] / per_folder[origin]
    else:
        real_weights = np.full(real_count, 1.0 / real_count)
    weights = real_weights
    if config.synthetic and config.real_fraction < 1:
        data_dir = resolve(config.synthetic)
        try:
            manifest = load_manifest(data_dir)
            synth, _ = load_lines(ShardDataset(data_dir, "train"), charset, train_config.model)
            synthetic_validation, _ = load_lines(ShardDataset(data_dir, "validation"), charset, train_config.model,
                                                 config.synthetic_validation_lines)
        except DatasetError as exc:
            raise TrainingError(str(exc)) from None
        if Charset.from_dict(manifest["charset"]) != charset:
            raise TrainingError(f"charset of {data_dir} differs from the checkpoint's")
        train = LineSet(train.images + synth.images, train.labels + synth.labels, train.encoded + synth.encoded)
        synth_count = len(synth.images)
        weights = np.concatenate([config.real_fraction * real_weights,
                                  np.full(synth_count, (1 - config.real_fraction) / synth_count)])
        description["synthetic"] = {"path": str(data_dir), "manifest_sha256": file_sha256(data_dir / "manifest.json"),
                                    "train_lines": synth_count, "name": manifest.get("name")}
    else:
        description["real_fraction"] = 1.0
    train_config = replace(train_config, data=str(resolve(config.synthetic)) if config.synthetic else "")
    return train_config, FinetuneData(train, weights, real.validation, synthetic_validation, description), start


def finetune(config: FinetuneConfig, run_dir: Path, root: Path, resume: bool = False, verbose: int = 1) -> dict:
    """Fine-tune (or resume fine-tuning) ``config.checkpoint``; returns the best checkpoint's metadata.

    The best checkpoint (lowest CER on real lines of held-out pages) is written to
    ``run_dir/best`` with the data description: the starting model and, per folder, how many
    real lines trained, validated and were skipped.
    """
    from crnn.training.loop import run_training

    train_config, data, start = prepare_finetune(config, root)
    if verbose:
        real = ", ".join(f"{Path(folder).name}: {c['train']} train / {c['validation']} validation"
                         for folder, c in data.description["real"].items())
        synthetic = data.description.get("synthetic", {}).get("train_lines", 0)
        print(f"real lines ({real}); {synthetic} synthetic lines; real share of samples "
              f"{data.description['real_fraction']:.0%}", file=sys.stderr)
    checkpoint = read_checkpoint(start)
    return run_training(train_config, run_dir, data.train, data.validation, checkpoint.charset,
                        checkpoint.geometry, data.description, resume, verbose,
                        initial_model=checkpoint.file("model"), weights=data.weights,
                        extra_validation=data.synthetic_validation)


def validate_checkpoints(config: FinetuneConfig, root: Path, checkpoints: list[Path]) -> dict[str, dict[str, float]]:
    """Greedy CER and exact-line rate of each checkpoint on the run's validation lines: the real lines of
    the held-out pages and the synthetic validation lines (how a fine-tuned model compares with where it
    started, on the same lines)."""
    import keras

    import crnn.recognize.layers  # noqa: F401  (registers the custom layers)
    from crnn.training.validation import evaluate

    _, data, _ = prepare_finetune(config, root)
    results: dict[str, dict[str, float]] = {}
    for path in checkpoints:
        try:
            checkpoint = read_checkpoint(path)
        except CheckpointError as exc:
            raise TrainingError(str(exc)) from None
        model = keras.saving.load_model(checkpoint.file("model"), compile=False)
        row = {}
        for name, lines in (("real", data.validation), ("synthetic", data.synthetic_validation)):
            if lines is not None and lines.images:
                metrics = evaluate(model, lines, checkpoint.charset, checkpoint.model_config, checkpoint.width_quantum)
                row |= {f"{name}_val_cer": metrics["val_cer"], f"{name}_val_exact": metrics["val_exact"],
                        f"{name}_lines": len(lines.images)}
        results[str(path)] = row
    return results
