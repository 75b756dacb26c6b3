"""Training the recognizer on synthetic line shards with CTC loss.

Batches group lines of similar width (padding every line to the widest in the
data set wastes much of the compute). Short epochs end with a validation pass
(CER and exact-line rate on held-out synthetic lines), a CSV log row, a
learning-curve picture, the "last" state for ``--resume`` and, when validation
CER improved, the "best" checkpoint. Checkpoints are written to a temporary
directory and renamed into place, so a crash never leaves a broken one.
"""

from __future__ import annotations

import csv
import hashlib
import json
import math
import os
import shutil
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from crnn.charset import Charset
from crnn.checkpoint import CHECKPOINT_FILES, save_checkpoint
from crnn.config import from_dict, to_dict
from crnn.decode import greedy_decode_batch
from crnn.lines import LineGeometry
from crnn.metrics import character_errors
from crnn.model import ModelConfig, build_model, can_fit, ctc_loss, logit_lengths, prepare_images
from crnn.synth import read_shard


@dataclass(frozen=True)
class TrainConfig:
    data: str = "data/synth/default"
    seed: int = 7
    batch_size: int = 32
    steps: int = 4400
    steps_per_epoch: int = 200
    learning_rate: float = 1.5e-3
    warmup_steps: int = 300
    final_learning_rate_fraction: float = 0.02
    clipnorm: float = 5.0
    validation_lines: int = 1000
    width_quantum: int = 32  # padded batch widths are multiples of this (fewer distinct shapes)
    bucket_batches: int = 20  # lines are sorted by width within groups of this many batches
    time_limit_minutes: float = 0.0  # stop (after the current epoch) past this; 0 means no limit
    model: ModelConfig = field(default_factory=ModelConfig)


class TrainingError(RuntimeError):
    """Training cannot start or continue (missing data, mismatched charset or checkpoint, NaN loss)."""


@dataclass
class LineSet:
    images: list[np.ndarray]
    labels: list[str]
    encoded: list[list[int]]

    @property
    def widths(self) -> np.ndarray:
        return np.array([im.shape[1] for im in self.images], dtype=np.int64)


def load_manifest(data_dir: Path) -> dict:
    manifest_path = data_dir / "manifest.json"
    if not manifest_path.is_file():
        raise TrainingError(f"no synthetic data at {data_dir} (manifest.json missing): run `make synth` first")
    return json.loads(manifest_path.read_text(encoding="utf-8"))


def load_split(data_dir: Path, manifest: dict, split: str, charset: Charset, model_config: ModelConfig,
               limit: int | None = None) -> tuple[LineSet, int]:
    """Lines of one split; also returns how many were dropped as too narrow for their label."""
    images: list[np.ndarray] = []
    labels: list[str] = []
    encoded: list[list[int]] = []
    dropped = 0
    for entry in manifest["shards"][split]:
        path = data_dir / entry["file"]
        if not path.is_file():
            raise TrainingError(f"shard listed in the manifest is missing: {path}")
        shard = read_shard(path)
        for image, label in zip(shard.images, shard.labels, strict=True):
            ids = charset.encode(label)
            if not can_fit(ids, image.shape[1], model_config):
                dropped += 1
                continue
            images.append(image)
            labels.append(label)
            encoded.append(ids)
            if limit is not None and len(images) >= limit:
                return LineSet(images, labels, encoded), dropped
    if not images:
        raise TrainingError(f"no {split} lines in {data_dir}")
    return LineSet(images, labels, encoded), dropped


def epoch_batches(widths: np.ndarray, batch_size: int, steps: int, seed: int, epoch: int,
                  bucket_batches: int) -> list[np.ndarray]:
    """``steps`` batches of line indices for one epoch, each of similar widths; depends only on its arguments."""
    rng = np.random.default_rng([seed, epoch])
    needed = steps * batch_size
    order = np.concatenate([rng.permutation(len(widths)) for _ in range(math.ceil(needed / len(widths)))])
    order = order[:needed]
    group = batch_size * bucket_batches
    batches = []
    for start in range(0, needed, group):
        chunk = order[start : start + group]
        chunk = chunk[np.argsort(widths[chunk], kind="stable")]
        batches.extend(chunk[i : i + batch_size] for i in range(0, len(chunk), batch_size))
    rng.shuffle(batches)
    return batches


def make_batch(lines: LineSet, indices: np.ndarray, model_config: ModelConfig, width_quantum: int):
    chosen = [lines.images[i] for i in indices]
    images, widths = prepare_images(chosen, width_quantum=width_quantum)
    label_lengths = np.array([len(lines.encoded[i]) for i in indices], dtype=np.int32)
    labels = np.zeros((len(indices), max(1, int(label_lengths.max()))), dtype=np.int32)
    for row, i in enumerate(indices):
        labels[row, : label_lengths[row]] = lines.encoded[i]
    frames = logit_lengths(widths, model_config).astype(np.int32)
    return images, (labels, label_lengths, frames)


def evaluate(model, lines: LineSet, charset: Charset, model_config: ModelConfig, width_quantum: int,
             batch_size: int = 64) -> dict[str, float]:
    """Greedy-decoded CER (micro) and exact-line rate of ``model`` on ``lines``."""
    order = np.argsort(lines.widths, kind="stable")
    hypotheses: dict[int, str] = {}
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        images, widths = prepare_images([lines.images[i] for i in idx], width_quantum=width_quantum)
        logits = np.asarray(model.predict_on_batch(images))
        decoded = greedy_decode_batch(logits, logit_lengths(widths, model_config), charset)
        for i, d in zip(idx, decoded, strict=True):
            hypotheses[int(i)] = d.text
    hyps = [hypotheses[i] for i in range(len(lines.labels))]
    errors = character_errors(lines.labels, hyps)
    exact = sum(h == r for h, r in zip(hyps, lines.labels, strict=True)) / len(hyps)
    return {"val_cer": errors.rate, "val_exact": exact}


def git_commit() -> str:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True,
                             cwd=Path(__file__).resolve().parent)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=Path(__file__).resolve().parent).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_description() -> dict:
    """What a wall-clock figure was measured on: CPU count and model, Keras backend, accelerators.

    Instances of the same 2-core machine kind differed 1.7x in training speed between sessions, so
    a time without the CPU model that measured it is hard to compare.
    """
    import platform

    import keras

    cpu_model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    backend = keras.backend.backend()
    accelerators: list[str] = []
    if backend == "tensorflow":
        import tensorflow as tf

        accelerators = [device.name for device in tf.config.list_physical_devices("GPU")]
    elif backend == "jax":
        import jax

        accelerators = [str(device) for device in jax.devices() if device.platform != "cpu"]
    elif backend == "torch":
        import torch

        accelerators = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    return {"cpus": os.cpu_count(), "cpu_model": cpu_model, "backend": backend, "accelerators": accelerators}


def file_sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def plot_learning_curve(log_path: Path, out_path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with log_path.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    if not rows:
        return
    step = [int(r["step"]) for r in rows]
    minutes = [float(r["wall_seconds"]) / 60 for r in rows]
    loss = [float(r["loss"]) for r in rows]
    cer = [100 * float(r["val_cer"]) for r in rows]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, x, label in ((axes[0], step, "step"), (axes[1], minutes, "wall time (min)")):
        ax.plot(x, loss, color="tab:blue", label="train loss")
        ax.set_xlabel(label)
        ax.set_ylabel("CTC loss", color="tab:blue")
        ax.set_yscale("log")
        twin = ax.twinx()
        twin.plot(x, cer, color="tab:red", marker=".", label="val CER %")
        twin.set_ylabel("validation CER (%)", color="tab:red")
        twin.set_yscale("log")
        ax.grid(alpha=0.3)
    fig.suptitle("CRNN training on synthetic lines")
    fig.tight_layout()
    tmp = out_path.with_suffix(".partial.png")
    fig.savefig(tmp, dpi=90)
    plt.close(fig)
    os.replace(tmp, out_path)


def make_trainer(model, optimizer):
    """Wrap the recognizer in a compiled ``keras.Model`` whose loss is CTC with per-sample lengths.

    ``fit`` and ``train_on_batch`` take images as x and ``(labels, label_lengths, frames)`` as y.
    Only the wrapped recognizer is ever saved.
    """
    import keras
    from keras import ops

    class CTCTrainer(keras.Model):
        def __init__(self, recognizer):
            super().__init__()
            self.recognizer = recognizer

        def call(self, images, training=False):
            return self.recognizer(images, training=training)

        def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
            labels, label_lengths, frames = y
            return ops.mean(ctc_loss(labels, label_lengths, y_pred, frames))

    trainer = CTCTrainer(model)
    # TensorFlow: XLA would compile once per batch width (and fails on TF's CTC kernel); plain graph
    # mode traces one width-agnostic step. JAX has no graph mode: without jit every step runs op by op
    # (three tiny-model training tests had not finished after 20 minutes), so it compiles once per batch
    # width, which width quantization bounds.
    trainer.compile(optimizer=optimizer, jit_compile=False if keras.backend.backend() == "tensorflow" else "auto")
    return trainer


@dataclass
class RunState:
    epoch: int = 0
    step: int = 0
    wall_seconds: float = 0.0
    best_cer: float = float("inf")


def _reseed_random_layers(model, seed: int, epoch: int) -> None:
    """Restart the dropout masks' random streams from (seed, epoch).

    Their state is not part of the saved weights, so without this a resumed run would draw
    other masks than the uninterrupted one.
    """
    states = [v for v in model.variables if v.name == "seed_generator_state"]
    for index, variable in enumerate(states):
        start = (seed * 7919 + epoch * 131 + index) % 2**31
        variable.assign(np.array([start, 0], dtype=np.asarray(variable).dtype))


def _save_last(run_dir: Path, model, optimizer, state: RunState) -> None:
    tmp = run_dir / "last.partial"
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    model.save(tmp / "model.keras")
    np.savez(tmp / "optimizer.npz", *[np.asarray(v) for v in optimizer.variables])
    (tmp / "state.json").write_text(json.dumps(state.__dict__), encoding="utf-8")
    final = run_dir / "last"
    shutil.rmtree(final, ignore_errors=True)
    os.replace(tmp, final)


def train(config: TrainConfig, run_dir: Path, resume: bool = False, verbose: int = 1) -> dict:
    """Train (or resume) a model; returns the best validation metrics. Writes under ``run_dir``."""
    import keras
    from keras import ops

    data_dir = Path(config.data)
    manifest = load_manifest(data_dir)
    charset = Charset()
    data_charset = Charset.from_dict(manifest["charset"])
    if data_charset != charset:
        extra = sorted(set(data_charset.characters) ^ set(charset.characters))
        raise TrainingError(f"charset of {data_dir} differs from the model's: {''.join(extra)!r}")
    geometry = from_dict(LineGeometry, manifest["config"]["geometry"])
    if geometry.height != config.model.height:
        raise TrainingError(f"data lines are {geometry.height} px high, the model expects {config.model.height}")

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

    keras.utils.set_random_seed(config.seed + state.epoch)
    train_lines, dropped = load_split(data_dir, manifest, "train", charset, config.model)
    val_lines, _ = load_split(data_dir, manifest, "validation", charset, config.model, config.validation_lines)
    if verbose:
        print(f"{len(train_lines.images)} train lines ({dropped} too narrow for their label, skipped), "
              f"{len(val_lines.images)} validation lines", file=sys.stderr)

    model = build_model(config.model, charset.num_classes)
    decay_steps = max(1, config.steps - config.warmup_steps)
    schedule = keras.optimizers.schedules.CosineDecay(
        initial_learning_rate=config.learning_rate * 0.01, decay_steps=decay_steps,
        alpha=config.final_learning_rate_fraction, warmup_target=config.learning_rate,
        warmup_steps=config.warmup_steps,
    )
    optimizer = keras.optimizers.Adam(learning_rate=schedule, clipnorm=config.clipnorm)

    trainer = make_trainer(model, optimizer)
    if resume:
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

    log_path = run_dir / "log.csv"
    started = time.perf_counter() - state.wall_seconds
    data_ref = {"path": str(data_dir), "manifest_sha256": file_sha256(data_dir / "manifest.json"),
                "train_lines": len(train_lines.images), "name": manifest.get("name")}
    machine = machine_description()

    def end_epoch(losses: list[float]) -> None:
        state.wall_seconds = time.perf_counter() - started
        metrics = evaluate(model, val_lines, charset, config.model, config.width_quantum)
        lr = float(ops.convert_to_numpy(schedule(state.step)))
        row = {"epoch": state.epoch, "step": state.step, "wall_seconds": round(state.wall_seconds, 1),
               "loss": round(float(np.mean(losses)), 5), "learning_rate": lr,
               "val_cer": round(metrics["val_cer"], 5), "val_exact": round(metrics["val_exact"], 4)}
        new_file = not log_path.exists()
        with log_path.open("a", newline="", encoding="utf-8") as f:
            writer = csv.DictWriter(f, fieldnames=list(row))
            if new_file:
                writer.writeheader()
            writer.writerow(row)
        if metrics["val_cer"] < state.best_cer:
            state.best_cer = metrics["val_cer"]
            save_checkpoint(
                run_dir / "best", model, charset, geometry, config,
                {"seed": config.seed, "data": data_ref, "git_commit": git_commit(),
                 "metrics": {**metrics, "step": state.step, "epoch": state.epoch,
                             "wall_seconds": round(state.wall_seconds, 1)},
                 "parameters": int(model.count_params()), "machine": machine},
            )
        _save_last(run_dir, model, optimizer, state)
        plot_learning_curve(log_path, run_dir / "learning_curve.png")
        if verbose:
            print(f"epoch {state.epoch} step {state.step}: loss {row['loss']:.4f} "
                  f"val CER {100 * metrics['val_cer']:.2f}% exact {100 * metrics['val_exact']:.1f}% "
                  f"({state.wall_seconds / 60:.1f} min)", file=sys.stderr)

    # A plain loop over train_on_batch rather than fit(): on the 2-core CPU, fit's input pipeline
    # and per-step bookkeeping cost about a fifth of each step (model card, "Training loop").
    # One worker thread assembles the next batch while the current one trains.
    total_epochs = math.ceil(config.steps / config.steps_per_epoch)
    with ThreadPoolExecutor(max_workers=1) as prefetcher:
        while state.epoch < total_epochs:
            _reseed_random_layers(model, config.seed, state.epoch)
            batches = epoch_batches(train_lines.widths, config.batch_size, config.steps_per_epoch,
                                    config.seed, state.epoch, config.bucket_batches)
            if verbose:
                print(f"Epoch {state.epoch + 1}/{total_epochs}", file=sys.stderr)
            progress = keras.utils.Progbar(len(batches), verbose=1 if verbose else 0)  # shows the epoch mean
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
            end_epoch(losses)
            limit = config.time_limit_minutes
            if limit and state.wall_seconds > limit * 60:
                break
    if not (run_dir / "best" / CHECKPOINT_FILES["model"]).is_file():
        raise TrainingError("training ended without a validated checkpoint")
    return json.loads((run_dir / "best" / CHECKPOINT_FILES["metadata"]).read_text(encoding="utf-8"))

