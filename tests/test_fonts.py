import pytest

from crnn.charset import DEFAULT_ALPHABET
from crnn.synth.fonts import FontPackageMissingError, book_fonts, can_render, font_coverage


def test_book_fonts_are_installed_from_packages():
    fonts = book_fonts()
    families = {f.family for f in fonts}
    assert "TeX Gyre Schola" in families
    assert len(families) >= 5
    assert all(f.path.is_file() for f in fonts)
    assert {"regular", "italic", "bold"} <= {f.style for f in fonts}


def test_naming_a_missing_package_is_an_error():
    with pytest.raises(FontPackageMissingError, match="not installed"):
        book_fonts(["fontpkg_does_not_exist"])


def test_coverage_distinguishes_present_and_missing_glyphs():
    schola = next(f for f in book_fonts() if f.family == "TeX Gyre Schola" and f.style == "regular")
    assert set(DEFAULT_ALPHABET) - {" "} <= font_coverage(schola.path)
    assert can_render(schola, "“Help!”—20,000")
    assert not can_render(schola, "漢字")


def test_typewriter_fonts_are_monospaced_and_apart_from_the_book_fonts():
    from PIL import ImageFont

    from crnn.synth.fonts import typewriter_fonts

    typewriters = typewriter_fonts()
    assert {"TeX Gyre Cursor", "IBM Plex Mono"} <= {f.family for f in typewriters}
    assert all(f.typewriter for f in typewriters) and not any(f.typewriter for f in book_fonts())
    for font in typewriters:
        pil_font = ImageFont.truetype(str(font.path), 100)
        assert len({pil_font.getlength(c) for c in "ilmwMW.,0"}) == 1, font.name
