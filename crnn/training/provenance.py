"""Where a model came from: the code's commit, the machine that trained it, the data's hash."""

from __future__ import annotations

import hashlib
import os
import platform
import subprocess
from pathlib import Path
from typing import Any


def git_commit() -> str:
    """The project's commit, with ``-dirty`` when tracked files have changes; "unknown" outside git."""
    here = Path(__file__).resolve().parent
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, check=True, cwd=here)
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], capture_output=True,
                               text=True, cwd=here).stdout.strip()
        return out.stdout.strip() + ("-dirty" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "unknown"


def machine_description(with_backend: bool = True) -> dict[str, Any]:
    """What a wall-clock figure was measured on: CPU count and model, and (``with_backend``) the Keras
    backend and its accelerators. Instances of one machine kind can differ severalfold in speed."""
    cpu_model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text(encoding="utf-8").splitlines():
            if line.startswith("model name"):
                cpu_model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    description: dict[str, Any] = {"cpus": os.cpu_count(), "cpu_model": cpu_model}
    if with_backend:
        description |= _backend_description()
    return description


def _backend_description() -> dict[str, Any]:
    import keras

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
    return {"backend": backend, "accelerators": accelerators}


def file_sha256(path: Path) -> str:
    """The SHA-256 hex digest of a file's bytes."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
