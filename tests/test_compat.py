from PIL import ImageFont

from crnn.synth.compat import install_pillow_getsize
from crnn.synth.fonts import book_fonts


def test_getsize_shim_matches_ink_box_edges():
    install_pillow_getsize()
    font = ImageFont.truetype(str(book_fonts()[0].path), 40)
    width, height = font.getsize("Hyphen-ated g")
    _, _, right, bottom = font.getbbox("Hyphen-ated g")
    assert (width, height) == (right, bottom)
    # a descender reaches lower than a letter sitting on the baseline
    assert font.getsize("g")[1] > font.getsize("a")[1]


def test_trdg_renders_with_the_shim():
    install_pillow_getsize()
    from trdg.computer_text_generator import generate

    image, _mask = generate(
        "Ahoy there", str(book_fonts()[0].path), "#000000", 32, 0, 1.0, 0, True, True
    )
    assert image.width > image.height > 10
    assert image.getbbox() is not None
