"""Sources of (line image, text) pairs for training and evaluation, behind one protocol.

A :class:`LineDataset` yields :class:`LinePair` items. :class:`ShardDataset` reads a
synthetic data set's shards (its ``manifest.json`` lists them by split);
:class:`FolderDataset` reads a folder of line images with their transcriptions beside
them, the tesstrain/Calamari/kraken convention (``X.png`` + ``X.gt.txt``), which is what
the web app's corrections folder holds. A new source is one more class with ``__iter__``
and ``__len__``.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

import cv2
import numpy as np

from crnn.data.shards import read_shard
from crnn.io import IMAGE_SUFFIXES, ImageError, load_image


class DatasetError(RuntimeError):
    """A data set is missing, incomplete or unreadable."""


@dataclass(frozen=True)
class LinePair:
    """A line image (uint8 grayscale, ink dark) and its transcription."""

    image: np.ndarray
    text: str
    source: str = ""


class LineDataset(Protocol):
    """Line pairs in a stable order."""

    def __iter__(self) -> Iterator[LinePair]: ...

    def __len__(self) -> int: ...


class ShardDataset:
    """One split ("train" or "validation") of a synthetic data set written by ``crnn.synth.dataset``."""

    def __init__(self, directory: str | Path, split: str = "train") -> None:
        self.directory = Path(directory)
        self.split = split
        self.manifest = load_manifest(self.directory)
        try:
            self.entries = list(self.manifest["shards"][split])
        except KeyError:
            raise DatasetError(f"{self.directory}: the manifest lists no {split!r} shards") from None

    def __len__(self) -> int:
        return sum(int(entry["lines"]) for entry in self.entries)

    def __iter__(self) -> Iterator[LinePair]:
        for entry in self.entries:
            path = self.directory / entry["file"]
            if not path.is_file():
                raise DatasetError(f"shard listed in the manifest is missing: {path}")
            shard = read_shard(path)
            for image, label in zip(shard.images, shard.labels, strict=True):
                yield LinePair(image, label, entry["file"])


def load_manifest(directory: Path) -> dict:
    """The ``manifest.json`` of a synthetic data set; its presence means the data set is whole."""
    path = Path(directory) / "manifest.json"
    if not path.is_file():
        raise DatasetError(f"no synthetic data at {directory} (manifest.json missing): run `make synth` first")
    return json.loads(path.read_text(encoding="utf-8"))


class FolderDataset:
    """Line images with a ``.gt.txt`` transcription beside each (``line.png`` + ``line.gt.txt``), sorted by name.

    Images without a transcription are skipped; the transcription's first line is the text.
    """

    def __init__(self, directory: str | Path) -> None:
        self.directory = Path(directory)
        if not self.directory.is_dir():
            raise DatasetError(f"no such folder: {self.directory}")
        self.items = sorted(
            (path, path.with_name(path.name[: -len(path.suffix)] + ".gt.txt"))
            for path in self.directory.iterdir()
            if path.suffix.lower() in IMAGE_SUFFIXES and path.is_file()
        )
        self.items = [(image, text) for image, text in self.items if text.is_file()]

    def __len__(self) -> int:
        return len(self.items)

    def __iter__(self) -> Iterator[LinePair]:
        for image_path, text_path in self.items:
            try:
                image = load_image(image_path)
            except ImageError as exc:
                raise DatasetError(str(exc)) from None
            lines = text_path.read_text(encoding="utf-8").splitlines()
            yield LinePair(image, lines[0] if lines else "", image_path.name)


def write_line_pair(directory: str | Path, stem: str, image: np.ndarray, text: str) -> tuple[Path, Path]:
    """Write ``stem.png`` and ``stem.gt.txt`` (the convention :class:`FolderDataset` reads)."""
    directory = Path(directory)
    image_path, text_path = directory / f"{stem}.png", directory / f"{stem}.gt.txt"
    cv2.imwrite(str(image_path), image)
    text_path.write_text(text + "\n", encoding="utf-8")
    return image_path, text_path
