"""Training the recognizer on line data sets with CTC loss.

Batches group lines of similar width. Short epochs end with a validation pass
(CER and exact-line rate on held-out lines), a CSV log row, a learning-curve
picture, the "last" state for ``--resume`` and, when validation CER improved,
the "best" checkpoint. With ``average_last_epochs``, the mean of the weights at
the ends of the last epochs (stochastic weight averaging) is validated as well
and saved as the best where it does better than every single epoch.
Checkpoints are written to a temporary directory and renamed into place, so a
crash never leaves a broken one.
"""

from __future__ import annotations

import csv
import json
import math
import shutil
import sys
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from crnn.charset import Charset
from crnn.config import from_dict, to_dict
from crnn.data import DatasetError, ShardDataset, load_manifest
from crnn.imaging import LineGeometry
from crnn.io import atomic_directory
from crnn.recognize.architectures import build_model
from crnn.recognize.checkpoint import CHECKPOINT_FILES, save_checkpoint
from crnn.training.batches import LineSet, epoch_batches, load_lines, make_batch
from crnn.training.config import TrainConfig, TrainingError
from crnn.training.loss import make_trainer
from crnn.training.plots import plot_learning_curve
from crnn.training.provenance import file_sha256, git_commit, machine_description
from crnn.training.validation import evaluate


@dataclass
class RunState:
    """Where a run stands; saved with the "last" state so that a run resumes exactly."""

    epoch: int = 0
    step: int = 0
    wall_seconds: float = 0.0
    best_cer: float = float("inf")


def reseed_random_layers(model: Any, seed: int, epoch: int) -> None:
    """Restart the dropout masks' random streams from (seed, epoch).

    Their state is not part of the saved weights, so without this a resumed run would draw
    other masks than the uninterrupted one.
    """
    states = [v for v in model.variables if v.name == "seed_generator_state"]
    for index, variable in enumerate(states):
        start = (seed * 7919 + epoch * 131 + index) % 2**31
        variable.assign(np.array([start, 0], dtype=np.asarray(variable).dtype))


class WeightAverage:
    """A running mean of a model's weights (``model.weights``: the trainable ones and the batch-norm
    statistics; the dropout's random state is not among them), taken at the ends of epochs."""

    FILE = "average.npz"

    def __init__(self, model: Any) -> None:
        self.variables = list(model.weights)
        self.mean: list[np.ndarray] = []
        self.count = 0

    def add(self) -> None:
        values = [np.asarray(v, dtype=np.float64) for v in self.variables]
        if not self.count:
            self.mean = values
        else:
            for mean, value in zip(self.mean, values, strict=True):
                mean += (value - mean) / (self.count + 1)
        self.count += 1

    @contextmanager
    def swapped_in(self) -> Iterator[None]:
        """The model holds the mean inside the block and its own weights again after it."""
        own = [np.asarray(v) for v in self.variables]
        try:
            for variable, mean, value in zip(self.variables, self.mean, own, strict=True):
                variable.assign(mean.astype(value.dtype))
            yield
        finally:
            for variable, value in zip(self.variables, own, strict=True):
                variable.assign(value)

    def save(self, directory: Path) -> None:
        if self.count:
            np.savez(directory / self.FILE, np.array(self.count), *self.mean)

    def load(self, directory: Path) -> None:
        path = directory / self.FILE
        if path.is_file():
            with np.load(path) as saved:
                arrays = [saved[f"arr_{i}"] for i in range(len(saved.files))]
            if len(arrays) - 1 != len(self.variables):
                raise TrainingError("saved weight average does not match the model")
            self.count, self.mean = int(arrays[0]), [a.astype(np.float64) for a in arrays[1:]]


def _data_geometry(data_dir: Path, manifest: dict, charset: Charset, config: TrainConfig) -> LineGeometry:
    """The data's line geometry, after checking that its charset and line height suit the model."""
    data_charset = Charset.from_dict(manifest["charset"])
    if data_charset != charset:
        extra = sorted(set(data_charset.characters) ^ set(charset.characters))
        raise TrainingError(f"charset of {data_dir} differs from the model's: {''.join(extra)!r}")
    geometry = from_dict(LineGeometry, manifest["config"]["geometry"])
    try:
        config.model.check_height(geometry.height)
    except ValueError as exc:
        raise TrainingError(f"data lines are {geometry.height} px high: {exc}") from None
    return geometry


def _prepare_run_dir(run_dir: Path, config: TrainConfig, resume: bool) -> RunState:
    run_dir.mkdir(parents=True, exist_ok=True)
    state = RunState()
    last = run_dir / "last"
    if resume:
        if not (last / "state.json").is_file():
            raise TrainingError(f"nothing to resume in {run_dir} (no last/state.json)")
        saved_config = json.loads((run_dir / "train_config.json").read_text(encoding="utf-8"))
        if saved_config["model"] != to_dict(config.model):
            raise TrainingError(f"{run_dir} was trained with another architecture; start a new run directory")
        state = RunState(**json.loads((last / "state.json").read_text(encoding="utf-8")))
    else:
        for stale in ("last", "best", "log.csv", "learning_curve.png"):
            path = run_dir / stale
            if path.is_dir():
                shutil.rmtree(path)
            elif path.exists():
                path.unlink()
    (run_dir / "train_config.json").write_text(json.dumps(to_dict(config), indent=1), encoding="utf-8")
    return state


def _optimizer(config: TrainConfig) -> tuple[Any, Any]:
    """Adam with warm-up and cosine decay, and its schedule."""
    import keras

    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate * 0.01, decay_steps=max(1, config.steps - config.warmup_steps),
        alpha=config.final_learning_rate_fraction, warmup_target=config.learning_rate,
        warmup_steps=config.warmup_steps,
    )
    return keras.optimizers.Adam(learning_rate=schedule, clipnorm=config.clipnorm), schedule


def _restore(last: Path, model: Any, optimizer: Any, average: WeightAverage) -> None:
    try:
        model.load_weights(last / "model.keras")
    except Exception as exc:
        raise TrainingError(f"cannot load {last / 'model.keras'}: {str(exc).splitlines()[0]}") from None
    optimizer.build(model.trainable_variables)
    with np.load(last / "optimizer.npz") as saved:
        values = [saved[f"arr_{i}"] for i in range(len(saved.files))]
    if len(values) != len(optimizer.variables):
        raise TrainingError("saved optimizer state does not match the model")
    for variable, value in zip(optimizer.variables, values, strict=True):
        variable.assign(value)
    average.load(last)


def _save_last(run_dir: Path, model: Any, optimizer: Any, state: RunState, average: WeightAverage) -> None:
    with atomic_directory(run_dir / "last") as tmp:
        model.save(tmp / "model.keras")
        np.savez(tmp / "optimizer.npz", *[np.asarray(v) for v in optimizer.variables])
        average.save(tmp)
        (tmp / "state.json").write_text(json.dumps(state.__dict__), encoding="utf-8")


@dataclass
class _Run:
    """One training run's objects, and what happens at the end of each epoch."""

    config: TrainConfig
    run_dir: Path
    state: RunState
    verbose: int
    charset: Charset
    geometry: LineGeometry
    model: Any
    optimizer: Any
    schedule: Any
    val_lines: LineSet
    data_ref: dict[str, Any]
    machine: dict[str, Any]
    started: float
    average: WeightAverage
    extra_validation: LineSet | None = None  # logged as synthetic_val_cer; does not pick the best

    def _validate(self) -> dict[str, float]:
        config = self.config
        metrics = evaluate(self.model, self.val_lines, self.charset, config.model, config.width_quantum)
        if self.extra_validation is not None and self.extra_validation.images:
            extra = evaluate(self.model, self.extra_validation, self.charset, config.model, config.width_quantum)
            metrics["synthetic_val_cer"] = extra["val_cer"]
        return metrics

    def _save_best(self, metrics: dict[str, Any]) -> None:
        state, config = self.state, self.config
        state.best_cer = metrics["val_cer"]
        save_checkpoint(
            self.run_dir / "best", self.model, self.charset, self.geometry, config,
            {"seed": config.seed, "data": self.data_ref, "git_commit": git_commit(),
             "metrics": {**metrics, "step": state.step, "epoch": state.epoch,
                         "wall_seconds": round(state.wall_seconds, 1)},
             "parameters": int(self.model.count_params()), "machine": self.machine},
        )

    def end_epoch(self, losses: list[float]) -> None:
        state = self.state
        state.wall_seconds = time.perf_counter() - self.started
        metrics = self._validate()
        from keras import ops

        lr = float(ops.convert_to_numpy(self.schedule(state.step)))
        row: dict[str, Any] = {"epoch": state.epoch, "step": state.step, "wall_seconds": round(state.wall_seconds, 1),
                               "loss": round(float(np.mean(losses)), 5), "learning_rate": lr,
                               "val_cer": round(metrics["val_cer"], 5), "val_exact": round(metrics["val_exact"], 4)}
        if "synthetic_val_cer" in metrics:
            row["synthetic_val_cer"] = round(metrics["synthetic_val_cer"], 5)
        if metrics["val_cer"] < state.best_cer:
            self._save_best(metrics)
        averaged = self._average_epoch(row)
        log_path = self.run_dir / "log.csv"
        new_file = not log_path.exists()
        with log_path.open("a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        _save_last(self.run_dir, self.model, self.optimizer, state, self.average)
        plot_learning_curve(log_path, self.run_dir / "learning_curve.png")
        if self.verbose:
            mean = (f", mean of the last {self.average.count} epochs {100 * averaged:.2f}%"
                    if averaged is not None else "")
            print(f"epoch {state.epoch} step {state.step}: loss {row['loss']:.4f} "
                  f"val CER {100 * metrics['val_cer']:.2f}% exact {100 * metrics['val_exact']:.1f}%{mean} "
                  f"({state.wall_seconds / 60:.1f} min)", file=sys.stderr)

    def _average_epoch(self, row: dict[str, Any]) -> float | None:
        """Add this epoch's weights to the mean once the last ``average_last_epochs`` have begun, validate
        the mean, and keep it as the best where it beats every checkpoint so far; its CER, or None."""
        config, state = self.config, self.state
        if not config.average_last_epochs:
            return None
        row["averaged_val_cer"] = ""
        if state.epoch <= config.total_epochs - config.average_last_epochs:
            return None
        self.average.add()
        with self.average.swapped_in():
            metrics = self._validate()
            metrics["averaged_epochs"] = self.average.count
            row["averaged_val_cer"] = round(metrics["val_cer"], 5)
            if metrics["val_cer"] < state.best_cer:
                self._save_best(metrics)
        return metrics["val_cer"]


def train(config: TrainConfig, run_dir: Path, resume: bool = False, verbose: int = 1) -> dict:
    """Train (or resume) a model; returns the best checkpoint's metadata. Writes under ``run_dir``."""
    data_dir = Path(config.data)
    try:
        manifest = load_manifest(data_dir)
    except DatasetError as exc:
        raise TrainingError(str(exc)) from None
    charset = Charset()
    geometry = _data_geometry(data_dir, manifest, charset, config)
    train_lines, dropped = load_lines(ShardDataset(data_dir, "train"), charset, config.model)
    val_lines, _ = load_lines(ShardDataset(data_dir, "validation"), charset, config.model, config.validation_lines)
    if verbose:
        print(f"{len(train_lines.images)} train lines ({dropped} too narrow for their label, skipped), "
              f"{len(val_lines.images)} validation lines", file=sys.stderr)
    data_ref = {"path": str(data_dir), "manifest_sha256": file_sha256(data_dir / "manifest.json"),
                "train_lines": len(train_lines.images), "name": manifest.get("name")}
    return run_training(config, run_dir, train_lines, val_lines, charset, geometry, data_ref, resume, verbose)


def run_training(config: TrainConfig, run_dir: Path, train_lines: LineSet, val_lines: LineSet, charset: Charset,
                 geometry: LineGeometry, data_ref: dict[str, Any], resume: bool = False, verbose: int = 1,
                 initial_model: Path | None = None, weights: np.ndarray | None = None,
                 extra_validation: LineSet | None = None) -> dict:
    """The loop over lines already in memory; returns the best checkpoint's metadata.

    ``initial_model`` (a ``.keras`` file of the same architecture) starts a new run from its
    weights; ``weights`` are the lines' sampling probabilities (see ``epoch_batches``);
    ``extra_validation`` is evaluated and logged after each epoch beside ``val_lines``, which
    alone picks the best checkpoint.
    """
    import keras

    for name, lines in (("train", train_lines), ("validation", val_lines)):
        if not lines.images:
            raise TrainingError(f"no {name} lines")
    state = _prepare_run_dir(run_dir, config, resume)
    keras.utils.set_random_seed(config.seed + state.epoch)
    model = build_model(config.model, charset.num_classes, geometry.height)
    optimizer, schedule = _optimizer(config)
    trainer = make_trainer(model, optimizer)
    average = WeightAverage(model)
    if resume:
        _restore(run_dir / "last", model, optimizer, average)
    elif initial_model is not None:
        try:
            model.load_weights(initial_model)
        except Exception as exc:
            raise TrainingError(f"cannot start from {initial_model}: {str(exc).splitlines()[0]}") from None
    started = time.perf_counter() - state.wall_seconds
    run = _Run(config, run_dir, state, verbose, charset, geometry, model, optimizer, schedule, val_lines, data_ref,
               machine_description(), started, average, extra_validation)
    _loop(run, trainer, train_lines, weights)
    if not (run_dir / "best" / CHECKPOINT_FILES["model"]).is_file():
        raise TrainingError("training ended without a validated checkpoint")
    return json.loads((run_dir / "best" / CHECKPOINT_FILES["metadata"]).read_text(encoding="utf-8"))


def _loop(run: _Run, trainer: Any, train_lines: LineSet, weights: np.ndarray | None = None) -> None:
    """Epochs of ``train_on_batch`` until the step count or the time limit is reached.

    A plain loop rather than ``fit()``: fit's input pipeline and per-step bookkeeping cost a
    noticeable share of each step on a small CPU. One worker thread assembles the next batch
    while the current one trains.
    """
    import keras

    config, state = run.config, run.state
    total_epochs = config.total_epochs
    with ThreadPoolExecutor(max_workers=1) as prefetcher:
        while state.epoch < total_epochs:
            reseed_random_layers(run.model, config.seed, state.epoch)
            batches = epoch_batches(train_lines.widths, config.batch_size, config.steps_per_epoch,
                                    config.seed, state.epoch, config.bucket_batches, weights)
            if run.verbose:
                print(f"Epoch {state.epoch + 1}/{total_epochs}", file=sys.stderr)
            progress = keras.utils.Progbar(len(batches), verbose=1 if run.verbose else 0)  # shows the epoch mean
            losses: list[float] = []
            upcoming = prefetcher.submit(make_batch, train_lines, batches[0], config.model, config.width_quantum)
            for index in range(len(batches)):
                images, targets = upcoming.result()
                if index + 1 < len(batches):
                    upcoming = prefetcher.submit(make_batch, train_lines, batches[index + 1], config.model,
                                                 config.width_quantum)
                loss = float(trainer.train_on_batch(images, targets, return_dict=True)["loss"])
                if not math.isfinite(loss):
                    raise TrainingError(f"loss became {loss} at step {state.step + 1}; no checkpoint was written")
                losses.append(loss)
                state.step += 1
                progress.update(index + 1, [("loss", loss)])
            state.epoch += 1
            run.end_epoch(losses)
            limit = config.time_limit_minutes
            if limit and state.wall_seconds > limit * 60:
                break
