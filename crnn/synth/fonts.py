"""Book and typewriter fonts installed from PyPI packages, and which characters each can draw.

No font file is committed to this repository: the serif faces and the monospaced
typewriter faces come from ``rinoh-typeface-*`` and ``fontpkg-*`` packages
(installed with ``--no-deps`` by ``make install``), located through their import
specs without importing them, since importing a rinoh package pulls in rinohtype.
"""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from functools import cache
from pathlib import Path

# Package name -> family name. TeX Gyre Schola (a Century Schoolbook clone) is
# the face closest to the illustrated editions this project reads first.
FONT_PACKAGES: dict[str, str] = {
    "rinoh_typeface_texgyreschola": "TeX Gyre Schola",
    "rinoh_typeface_texgyrepagella": "TeX Gyre Pagella",
    "rinoh_typeface_texgyretermes": "TeX Gyre Termes",
    "rinoh_typeface_texgyrebonum": "TeX Gyre Bonum",
    "rinoh_typeface_dejavuserif": "DejaVu Serif",
    "fontpkg_pt_serif": "PT Serif",
    "fontpkg_libre_baskerville": "Libre Baskerville",
    "fontpkg_eb_garamond": "EB Garamond",
    "fontpkg_crimson_text": "Crimson Text",
    "fontpkg_lora": "Lora",
    "fontpkg_merriweather": "Merriweather",
}
# Monospaced faces for typewritten lines: TeX Gyre Cursor is a Courier clone (the typewriter face
# of most office machines); IBM Plex Mono has the slab serifs of the golf-ball faces.
TYPEWRITER_PACKAGES: dict[str, str] = {
    "rinoh_typeface_texgyrecursor": "TeX Gyre Cursor",
    "fontpkg_ibm_plex_mono": "IBM Plex Mono",
}
# weights no typewriter struck: a family's light and thin cuts are left out
_UNSTRUCK_WEIGHTS = ("thin", "light", "medium")
_FONT_SUFFIXES = {".ttf", ".otf"}


class FontPackageMissingError(RuntimeError):
    """A font package that a configuration names is not installed."""


@dataclass(frozen=True, order=True)
class BookFont:
    """One font file: its family, its style (regular, italic, bold, bold-italic) and path."""

    family: str
    style: str
    path: Path
    typewriter: bool = False  # a monospaced typewriter face (``TYPEWRITER_PACKAGES``)

    @property
    def name(self) -> str:
        return f"{self.family} {self.style}"


def _style_from_filename(stem: str) -> str:
    lowered = stem.lower()
    italic = "italic" in lowered
    bold = "bold" in lowered and "semibold" not in lowered
    if bold and italic:
        return "bold-italic"
    if bold:
        return "bold"
    if italic:
        return "italic"
    if "semibold" in lowered:
        return "semibold"
    return "regular"


def package_font_files(package: str) -> list[Path]:
    """Font files shipped by an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise FontPackageMissingError(
            f"font package {package!r} is not installed (run `make install`)"
        )
    files: list[Path] = []
    for location in spec.submodule_search_locations:
        files.extend(p for p in Path(location).rglob("*") if p.suffix.lower() in _FONT_SUFFIXES)
    return sorted(files)


def book_fonts(packages: list[str] | None = None) -> list[BookFont]:
    """Installed book fonts, sorted by family and style.

    With ``packages=None`` every known package that is installed is used and
    missing ones are skipped; naming packages makes a missing one an error.
    """
    return _fonts(FONT_PACKAGES, packages, typewriter=False)


def typewriter_fonts(packages: list[str] | None = None) -> list[BookFont]:
    """Installed typewriter (monospaced) fonts, sorted by family and style; ``packages`` as for
    :func:`book_fonts`. Light, thin and medium cuts are left out."""
    return _fonts(TYPEWRITER_PACKAGES, packages, typewriter=True)


def _fonts(known: dict[str, str], packages: list[str] | None, typewriter: bool) -> list[BookFont]:
    strict = packages is not None
    fonts: list[BookFont] = []
    for package in packages if packages is not None else list(known):
        try:
            files = package_font_files(package)
        except FontPackageMissingError:
            if strict:
                raise
            continue
        family = known.get(package, package)
        for path in files:
            if typewriter and any(weight in path.stem.lower() for weight in _UNSTRUCK_WEIGHTS):
                continue
            style = _style_from_filename(path.stem)
            # DejaVu ships a condensed cut: a family of its own for sampling purposes
            fam = f"{family} Condensed" if "condensed" in path.stem.lower() else family
            fonts.append(BookFont(fam, style, path, typewriter))
    return sorted(fonts)


@cache
def font_coverage(path: Path) -> frozenset[str]:
    """Every character the font maps to a glyph (its cmap), spaces included."""
    from fontTools.ttLib import TTFont

    with TTFont(str(path), lazy=True) as font:
        cmap = font.getBestCmap() or {}
    return frozenset(chr(code) for code in cmap)


def can_render(font: BookFont, text: str) -> bool:
    """True if the font has a glyph for every non-space character of ``text``."""
    coverage = font_coverage(font.path)
    return all(c in coverage for c in text if not c.isspace())
