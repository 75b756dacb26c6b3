"""The learning curve: training loss and validation CER against steps and wall time."""

from __future__ import annotations

import csv
import io
from pathlib import Path

from crnn.io import atomic_write_bytes


def plot_learning_curve(log_path: Path, out_path: Path) -> None:
    """Draw ``log_path`` (the training CSV log) into ``out_path`` (PNG); nothing for an empty log."""
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
    # a fine-tuning run also logs the synthetic validation CER: what the model forgets
    synthetic = [100 * float(r["synthetic_val_cer"]) for r in rows] if rows[0].get("synthetic_val_cer") else None
    fig, axes = plt.subplots(1, 2, figsize=(11, 4))
    for ax, x, label in ((axes[0], step, "step"), (axes[1], minutes, "wall time (min)")):
        ax.plot(x, loss, color="tab:blue", label="train loss")
        ax.set_xlabel(label)
        ax.set_ylabel("CTC loss", color="tab:blue")
        ax.set_yscale("log")
        twin = ax.twinx()
        twin.plot(x, cer, color="tab:red", marker=".", label="val CER %")
        if synthetic:
            twin.plot(x, synthetic, color="tab:orange", marker=".", linestyle="--", label="synthetic val CER %")
            twin.legend(loc="upper right")
        twin.set_ylabel("validation CER (%)", color="tab:red")
        twin.set_yscale("log")
        ax.grid(alpha=0.3)
    fig.suptitle("CRNN fine-tuning: validation on real lines of held-out pages" if synthetic
                 else "CRNN training on synthetic lines")
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90)
    plt.close(fig)
    atomic_write_bytes(out_path, buffer.getvalue())
