import cv2
import numpy as np
import pytest

from crnn.io import ImageError, atomic_directory, atomic_write_text, collect_images, write_new_file


def test_atomic_write_replaces_whole_and_leaves_no_temporary_file(tmp_path):
    target = tmp_path / "out.txt"
    atomic_write_text(target, "first")
    atomic_write_text(target, "second")
    assert target.read_text() == "second"
    assert [p.name for p in tmp_path.iterdir()] == ["out.txt"]


def test_write_new_file_never_overwrites(tmp_path):
    target = write_new_file(tmp_path / "record.json", b"{}")
    with pytest.raises(FileExistsError):
        write_new_file(target, b"other")
    assert target.read_bytes() == b"{}"
    assert [p.name for p in tmp_path.iterdir()] == ["record.json"]


def test_atomic_directory_is_all_or_nothing(tmp_path):
    target = tmp_path / "ckpt"
    with atomic_directory(target) as tmp:
        (tmp / "a").write_text("1")
    with pytest.raises(RuntimeError), atomic_directory(target) as tmp:
        (tmp / "a").write_text("2")
        raise RuntimeError("crashed half way")
    assert (target / "a").read_text() == "1"  # the old directory survives a failed rewrite
    with atomic_directory(target) as tmp:
        (tmp / "b").write_text("3")
    assert sorted(p.name for p in target.iterdir()) == ["b"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["ckpt"]


def test_collect_images_expands_folders_and_names_what_is_missing(tmp_path):
    for name in ("b.png", "a.jpg", "notes.txt"):
        if name.endswith("txt"):
            (tmp_path / name).write_text("x")
        else:
            cv2.imwrite(str(tmp_path / name), np.zeros((4, 4), np.uint8))
    assert [p.name for p in collect_images([tmp_path])] == ["a.jpg", "b.png"]
    with pytest.raises(ImageError, match="no such file"):
        collect_images([tmp_path / "gone.png"])
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(ImageError, match="no images in directory"):
        collect_images([empty])


def test_a_colour_jpeg_is_read_as_the_grey_of_its_colours(tmp_path):
    from PIL import Image

    from crnn.io import load_image

    rng = np.random.default_rng(3)
    page = np.full((300, 400, 3), (200, 225, 240), np.uint8)  # tinted paper
    for row in range(20, 280, 30):
        colour = tuple(int(c) for c in rng.integers(0, 160, 3))
        cv2.putText(page, "Printed words", (10, row), cv2.FONT_HERSHEY_SIMPLEX, 1.0, colour, 2)
    path = tmp_path / "colour.jpg"
    cv2.imwrite(str(path), page, [cv2.IMWRITE_JPEG_QUALITY, 85])
    with Image.open(path) as image:
        converted = np.asarray(image.convert("L"), dtype=np.int16)
    gray = load_image(path)
    assert gray.shape == converted.shape and gray.dtype == np.uint8
    difference = np.abs(gray.astype(np.int16) - converted)
    assert difference.max() <= 8 and difference.mean() < 1.0
