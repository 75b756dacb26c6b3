"""Tesseract as the anchor engine: run the ``tesseract`` binary on the same items in the same run.

Nothing is installed or downloaded: the engine exists only when a ``tesseract`` binary is on
the PATH. It runs one process per image with one OpenMP thread (so the comparison with a
single-process reader is not skewed by threads), page segmentation mode 3 (automatic) for
pages and 7 (a single text line) for line images.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Sequence
from pathlib import Path

from crnn.io import document_pages, is_pdf

PAGE_PSM = 3
LINE_PSM = 7


def find_tesseract() -> str | None:
    """The path of the ``tesseract`` binary on the PATH, or ``None``."""
    return shutil.which("tesseract")


def tesseract_version(binary: str) -> str:
    """The first line of ``tesseract --version`` (e.g. ``tesseract 5.3.0``)."""
    done = subprocess.run([binary, "--version"], capture_output=True, text=True, timeout=30, check=False)
    lines = (done.stdout or done.stderr).splitlines()
    return lines[0].strip() if lines else "tesseract (unknown version)"


class TesseractEngine:
    """Reads images with the ``tesseract`` command line (``tesseract IMG stdout --psm N``)."""

    def __init__(self, binary: str, language: str = "eng", timeout_s: float = 300.0) -> None:
        self.binary = binary
        self.language = language
        self.timeout_s = timeout_s
        version = tesseract_version(binary).split(" ")
        self.name = f"{version[0]} {version[-1]}"

    def _run(self, image: Path, psm: int) -> list[str]:
        env = {**os.environ, "OMP_THREAD_LIMIT": "1"}
        try:
            done = subprocess.run([self.binary, str(image), "stdout", "-l", self.language, "--psm", str(psm)],
                                  capture_output=True, text=True, timeout=self.timeout_s, env=env, check=False)
        except subprocess.TimeoutExpired:
            raise RuntimeError(f"tesseract took over {self.timeout_s:.0f} s on {image.name}") from None
        if done.returncode != 0:
            message = (done.stderr.strip().splitlines() or ["no message"])[-1]
            raise RuntimeError(f"tesseract failed on {image.name}: {message}")
        return [line.strip() for line in done.stdout.replace("\f", "\n").splitlines() if line.strip()]

    def read_page(self, image: Path) -> list[str]:
        """The text lines of one page (every page of a PDF, each rendered as our reader renders it:
        Tesseract reads no PDFs)."""
        if not is_pdf(image):
            return self._run(image, PAGE_PSM)
        import tempfile

        from PIL import Image

        lines: list[str] = []
        with tempfile.TemporaryDirectory(prefix="crnn-tesseract-") as folder:
            for page in document_pages(image):
                png = Path(folder) / f"page-{page.number}.png"
                Image.fromarray(page.image).save(png, dpi=(page.dpi, page.dpi))
                lines.extend(self._run(png, PAGE_PSM))
        return lines

    def read_lines(self, images: Sequence[Path]) -> list[str]:
        """Each image read as a single line (an image Tesseract fails on reads as nothing)."""
        texts = []
        for image in images:
            try:
                texts.append(" ".join(self._run(image, LINE_PSM)))
            except RuntimeError:
                texts.append("")
        return texts
