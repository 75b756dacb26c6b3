"""The shard file format of line data sets: a ``.npz`` that ``numpy.load`` reads, byte-identical for identical input.

A shard holds many lines of one height: their pixels (``STORED_GRAY_LEVELS`` grey
levels, concatenated), widths, labels and font ids, bzip2-compressed. It appears
under its final name only once it is complete.
"""

from __future__ import annotations

import io
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import numpy as np

from crnn.io import atomic_write_bytes

SHARD_FORMAT_VERSION = 2
# Shards store 32 grey levels: the sensor-like noise of the degradations is what deflate cannot
# squeeze, and the rounding error (at most 4 of 255) is below the noise the degradations add anyway.
STORED_GRAY_LEVELS = 32


class ShardLine(Protocol):
    """What a shard stores of a line."""

    image: np.ndarray
    text: str
    font: str


def _npy_bytes(array: np.ndarray) -> bytes:
    buffer = io.BytesIO()
    np.lib.format.write_array(buffer, array, allow_pickle=False)
    return buffer.getvalue()


_QUANTIZE = np.rint(np.arange(256) / (255 / (STORED_GRAY_LEVELS - 1))).astype(np.uint8)


def _quantize(image: np.ndarray) -> np.ndarray:
    return _QUANTIZE[image]


def _dequantization_table(levels: int) -> np.ndarray:
    return np.rint(np.arange(256) * (255 / (levels - 1))).clip(0, 255).astype(np.uint8)


def write_shard(path: Path, samples: list[ShardLine], font_names: list[str]) -> None:
    """Write samples as a .npz readable by ``numpy.load``, byte-identical for identical input.

    Images are stored as ``STORED_GRAY_LEVELS`` grey levels, bzip2-compressed;
    ``read_shard`` maps them back to 0-255. The file appears under its final
    name only once it is complete.
    """
    arrays = {
        "images": _quantize(np.concatenate([s.image.reshape(-1) for s in samples])),
        "gray_levels": np.array([STORED_GRAY_LEVELS], dtype=np.int32),
        "widths": np.array([s.image.shape[1] for s in samples], dtype=np.int32),
        "height": np.array([samples[0].image.shape[0]], dtype=np.int32),
        "labels": np.array([s.text for s in samples], dtype=str),
        "font_ids": np.array([font_names.index(s.font) for s in samples], dtype=np.int16),
    }
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_BZIP2, compresslevel=9) as archive:
        for name, array in arrays.items():
            info = zipfile.ZipInfo(f"{name}.npy", date_time=(1980, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_BZIP2
            archive.writestr(info, _npy_bytes(array))
    atomic_write_bytes(path, buffer.getvalue())


@dataclass(frozen=True)
class Shard:
    """The lines of one shard file."""

    images: list[np.ndarray]
    labels: list[str]
    font_ids: np.ndarray


def read_shard(path: str | Path) -> Shard:
    """Read a shard written by :func:`write_shard` (format 1 or 2)."""
    with np.load(path, allow_pickle=False) as data:
        flat, widths, height = data["images"], data["widths"], int(data["height"][0])
        if "gray_levels" in data:  # format 2; format 1 shards stored all 256 levels
            flat = _dequantization_table(int(data["gray_levels"][0]))[flat]
        offsets = np.concatenate([[0], np.cumsum(widths.astype(np.int64) * height)])
        images = [flat[offsets[i] : offsets[i + 1]].reshape(height, int(w)) for i, w in enumerate(widths)]
        return Shard(images, [str(s) for s in data["labels"]], data["font_ids"].copy())
