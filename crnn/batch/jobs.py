"""What a batch reads: documents found in folder trees, list files and single files, with their outputs' places."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from crnn.io import DOCUMENT_SUFFIXES, ImageError, page_count

LIST_SUFFIXES = frozenset({".txt", ".lst", ".list"})  # a file of input paths, one per line


class BatchInputError(ValueError):
    """The batch's inputs cannot be used as given; the message is one line that says why."""


@dataclass(frozen=True)
class Job:
    """One input document and where its outputs go: ``relative`` is its path inside the output
    tree, without suffix (``scans/book1/p001`` for ``IN/scans/book1/p001.jpg``)."""

    path: Path
    relative: PurePosixPath

    @property
    def key(self) -> str:
        """The document's name in the manifest: its place in the output tree, with its own suffix."""
        return str(self.relative.with_name(self.relative.name + self.path.suffix.lower()))


def file_sha256(path: Path, chunk: int = 1 << 20) -> str:
    """The SHA-256 hex digest of a file's bytes, read in chunks."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while block := handle.read(chunk):
            digest.update(block)
    return digest.hexdigest()


def _is_document(path: Path) -> bool:
    return path.is_file() and path.suffix.lower() in DOCUMENT_SUFFIXES and not path.name.startswith(".")


def _from_list(list_file: Path) -> list[tuple[Path, PurePosixPath]]:
    """The documents a list file names (one path per line, relative to the list's folder; ``#`` comments)."""
    try:
        text = list_file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise BatchInputError(f"cannot read list file {list_file}: {exc}") from None
    base = list_file.parent
    found = []
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        path = (base / line).resolve() if not Path(line).is_absolute() else Path(line)
        if not _is_document(path):
            why = "not found" if not path.exists() else "not an image or PDF"
            raise BatchInputError(f"{list_file}:{number}: {line}: {why}")
        try:
            relative = PurePosixPath(path.relative_to(base.resolve()).as_posix())
        except ValueError:
            relative = PurePosixPath(path.name)
        found.append((path, relative))
    return found


def find_jobs(inputs: list[Path], exclude: Path | None = None) -> list[Job]:
    """The documents of ``inputs``: a folder is searched recursively for images and PDFs (mirrored
    below the output folder as they lie below it; hidden files and anything under ``exclude``,
    the output folder, left out), a list file names documents, a document is itself. Raises
    :class:`BatchInputError` for a missing input, an input with no documents, or two documents
    whose outputs would land on the same name."""
    excluded = exclude.resolve() if exclude is not None else None

    def wanted(path: Path, folder: Path) -> bool:
        # the output folder is left out where it lies below an input folder (not where it is that folder)
        below = excluded is not None and folder.resolve() in excluded.parents
        return (_is_document(path) and not any(part.startswith(".") for part in path.relative_to(folder).parts)
                and not (below and excluded in path.resolve().parents))

    found: list[tuple[Path, PurePosixPath]] = []
    for given in inputs:
        if given.is_dir():
            documents = sorted(p for p in given.rglob("*") if wanted(p, given))
            if not documents:
                raise BatchInputError(f"no images or PDFs under {given}")
            found += [(p, PurePosixPath(p.relative_to(given).as_posix())) for p in documents]
        elif given.is_file() and given.suffix.lower() in LIST_SUFFIXES:
            found += _from_list(given)
        elif _is_document(given):
            found.append((given, PurePosixPath(given.name)))
        elif given.exists():
            raise BatchInputError(f"not an image, PDF, folder or list file: {given}")
        else:
            raise BatchInputError(f"no such file or folder: {given}")
    # page.jpg and page.png side by side keep their suffixes in their output names, as ocr_page.py does
    stems: dict[PurePosixPath, int] = {}
    for _, relative in found:
        stem = relative.with_suffix("")
        stems[stem] = stems.get(stem, 0) + 1
    jobs = [Job(path, relative.with_suffix("") if stems[relative.with_suffix("")] == 1 else relative)
            for path, relative in found]
    seen: dict[PurePosixPath, Path] = {}
    for job in jobs:
        if job.relative in seen and seen[job.relative] != job.path:
            raise BatchInputError(f"{seen[job.relative]} and {job.path} would write the same outputs "
                                  f"({job.relative}.*): give them in separate runs")
        seen[job.relative] = job.path
    unique: dict[Path, Job] = {job.path.resolve(): job for job in jobs}
    return list(unique.values())


def count_pages(job: Job) -> int:
    """The job's page count, 1 where it cannot be told yet (the reading will say why)."""
    try:
        return page_count(job.path)
    except ImageError:
        return 1
