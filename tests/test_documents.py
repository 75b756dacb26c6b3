"""PDF in: a PDF's pages read as pages (a scan at its own resolution), everywhere an image is taken."""

from __future__ import annotations

import base64

import cv2
import numpy as np
import pytest
from PIL import Image

from crnn.cli.ocr_page import main
from crnn.io import ImageError, ImageTooLargeError, document_pages, is_pdf, page_count, pdf_pages
from crnn.recognize import DEFAULT_CHECKPOINT


def _pdf_objects(objects: list[str], trailer: str = "") -> bytes:
    """A PDF file made of ``objects`` (numbered from 1; 1 is the catalog)."""
    out = b"%PDF-1.4\n"
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n{body}\nendobj\n".encode()
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    out += b"".join(f"{offset:010d} 00000 n \n".encode() for offset in offsets)
    out += f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R {trailer}>>\nstartxref\n{xref}\n%%EOF\n".encode()
    return out


PAGE_TREE = ["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [3 0 R] /Count 1 >>"]


@pytest.fixture(scope="module")
def scans(tmp_path_factory):
    """Three generated pages saved as PNGs and as one PDF of their scans (1-bit, grey at 150 dpi, grey)."""
    from crnn.synth.pages import PageGenerator

    folder = tmp_path_factory.mktemp("scans")
    generator = PageGenerator(21)
    images = [generator.generate(two_pages=False).image for _ in range(3)]
    images[0] = np.where(images[0] > 128, 255, 0).astype(np.uint8)  # a bilevel scan
    for number, image in enumerate(images, 1):
        cv2.imwrite(str(folder / f"p{number}.png"), image)
    pictures = [Image.fromarray(image).convert("1") if n == 0 else Image.fromarray(image)
                for n, image in enumerate(images)]
    pictures[0].save(folder / "book.pdf", save_all=True, append_images=pictures[1:], resolution=300)
    return folder, images


def test_a_pdf_scan_is_read_at_its_own_resolution_pixel_for_pixel(tmp_path):
    rng = np.random.default_rng(0)
    page = np.where(rng.random((700, 500)) > 0.5, 255, 0).astype(np.uint8)
    for dpi in (150, 300, 400):
        path = tmp_path / f"scan{dpi}.pdf"
        Image.fromarray(page).convert("1").save(path, resolution=dpi)
        (read,) = list(document_pages(path, dpi=72))  # the caller's DPI is for pages that are not scans
        assert read.dpi == pytest.approx(dpi) and read.image.shape == page.shape
        assert np.array_equal(read.image, page)
        assert read.source == f"{path}#page=1" and read.number == 1


def test_a_page_without_a_scan_is_rendered_at_the_dpi_asked():
    # a page of vector drawing only: a black square on a 144 x 72 pt page
    pdf = _pdf_objects([*PAGE_TREE, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 144 72] /Contents 4 0 R >>",
                        "<< /Length 22 >>\nstream\n0 g 36 18 36 36 re f\nendstream"])
    for dpi in (100, 200):
        (read,) = list(document_pages(pdf, dpi=dpi))
        assert read.image.shape == (dpi, 2 * dpi) and read.dpi == dpi
        assert read.image[dpi // 2, dpi * 3 // 4] < 50 and read.image[5, 5] > 200  # square inked, margin white


def test_pages_come_one_by_one_in_order_and_by_number(scans):
    folder, images = scans
    assert is_pdf(folder / "book.pdf") and not is_pdf(folder / "p1.png") and page_count(folder / "book.pdf") == 3
    read = list(pdf_pages(folder / "book.pdf"))
    assert [p.number for p in read] == [1, 2, 3]
    assert [p.image.shape for p in read] == [image.shape for image in images]
    assert np.array_equal(read[0].image, images[0])
    (second,) = list(pdf_pages(folder / "book.pdf", pages=[2]))
    assert np.array_equal(second.image, read[1].image)
    with pytest.raises(ImageError, match="no page 4"):
        list(pdf_pages(folder / "book.pdf", pages=[4]))


@pytest.mark.parametrize("problem", ["broken", "encrypted", "empty", "no_pages", "too_many_pages", "too_large"])
def test_a_bad_pdf_is_a_one_line_error(tmp_path, problem):
    objects = {
        "broken": b"%PDF-1.4\n1 0 obj << /Type /Catalog /Pages",
        # the standard security handler with a user password that no one gave
        "encrypted": _pdf_objects([*PAGE_TREE, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>",
                                   f"<< /Filter /Standard /V 1 /R 2 /O <{'11' * 32}> /U <{'22' * 32}> /P -4 >>"],
                                  f"/Encrypt 4 0 R /ID [<{'33' * 16}> <{'33' * 16}>] "),
        "empty": b"",
        "no_pages": _pdf_objects(["<< /Type /Catalog /Pages 2 0 R >>", "<< /Type /Pages /Kids [] /Count 0 >>"]),
        "too_many_pages": _pdf_objects([*PAGE_TREE, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 200 200] >>"]),
        "too_large": _pdf_objects([*PAGE_TREE, "<< /Type /Page /Parent 2 0 R /MediaBox [0 0 14400 14400] >>"]),
    }[problem]
    path = tmp_path / "bad.pdf"
    path.write_bytes(objects)
    expected = {"broken": "broken PDF", "encrypted": "encrypted PDF", "empty": "empty file",
                "no_pages": "broken PDF|without pages", "too_many_pages": "exceeds the limit of 0",
                "too_large": "megapixels"}[problem]
    with pytest.raises(ImageError, match=expected) as raised:
        list(document_pages(path, max_pages=0 if problem == "too_many_pages" else 5000))
    assert "\n" not in str(raised.value)
    if problem in ("too_large", "too_many_pages"):
        assert isinstance(raised.value, ImageTooLargeError)


def test_ocr_page_reads_every_page_of_a_pdf_as_its_images(capsys, scans, tmp_path):
    folder, _ = scans
    debug = tmp_path / "debug"
    assert main([str(folder / "book.pdf"), "--checkpoint", str(DEFAULT_CHECKPOINT), "--debug-dir", str(debug)]) == 0
    from_pdf = capsys.readouterr().out.split("\f")
    # each page's layout pictures under a name of its own
    assert sorted(p.name for p in debug.glob("*.lines.png")) == [f"book-p{n}.lines.png" for n in (1, 2, 3)]
    tiff = tmp_path / "scan.tif"
    Image.open(folder / "p2.png").save(tiff, save_all=True, append_images=[Image.open(folder / "p3.png")])
    assert main([str(tiff), "--checkpoint", str(DEFAULT_CHECKPOINT), "--debug-dir", str(debug)]) == 0
    capsys.readouterr()
    assert sorted(p.name for p in debug.glob("scan*.lines.png")) == ["scan-p1.lines.png", "scan-p2.lines.png"]
    assert main([str(folder / f"p{n}.png") for n in (1, 2, 3)] + ["--checkpoint", str(DEFAULT_CHECKPOINT)]) == 0
    from_images = capsys.readouterr().out.split("==> ")[1:]
    assert len(from_pdf) == 3 and len(from_images) == 3
    # the 1-bit scan comes back pixel for pixel: the same text; the grey ones went through JPEG in the PDF
    assert from_pdf[0] == from_images[0].split(" <==\n", 1)[1]
    assert all(page.strip() for page in from_pdf)


def test_ocr_page_reports_a_broken_pdf_in_one_line_and_reads_the_rest(capsys, tmp_path, scans):
    folder, _ = scans
    broken = tmp_path / "broken.pdf"
    broken.write_bytes(b"%PDF-1.7\ngarbage")
    code = main([str(broken), str(folder / "p1.png"), "--checkpoint", str(DEFAULT_CHECKPOINT)])
    captured = capsys.readouterr()
    assert code == 1
    assert "error: broken PDF" in captured.err and "Traceback" not in captured.err
    assert "p1.png" in captured.out


def test_the_web_app_reads_the_page_of_a_pdf_asked_for(scans):
    from fastapi.testclient import TestClient

    from crnn.web.app import create_app

    folder, _ = scans
    import tempfile

    corrections = tempfile.mkdtemp()
    client = TestClient(create_app(DEFAULT_CHECKPOINT, corrections), base_url="http://127.0.0.1:8000")
    data = (folder / "book.pdf").read_bytes()
    first = client.post("/api/ocr", files={"image": ("book.pdf", data, "application/pdf")})
    second = client.post("/api/ocr", files={"image": ("book.pdf", data, "application/pdf")}, data={"page": "2"})
    assert first.status_code == 200 and second.status_code == 200
    one, two = first.json(), second.json()
    assert (one["document_page"], one["document_pages"], two["document_page"]) == (1, 3, 2)
    assert one["page_id"] != two["page_id"] and one["text"] != two["text"]
    assert (one["source"], two["source"]) == ("book.pdf#page=1", "book.pdf#page=2")
    shown = base64.b64decode(two["page_image"].split(",", 1)[1])
    assert cv2.imdecode(np.frombuffer(shown, np.uint8), cv2.IMREAD_GRAYSCALE).shape == (two["height"], two["width"])
    as_json = client.post("/api/ocr", json={"image": base64.b64encode(data).decode(), "page": 3})
    assert as_json.status_code == 200 and as_json.json()["document_page"] == 3
    missing = client.post("/api/ocr", files={"image": ("book.pdf", data, "application/pdf")}, data={"page": "9"})
    assert missing.status_code == 400 and "3 page(s)" in missing.json()["error"]
    bad = client.post("/api/ocr", files={"image": ("x.pdf", b"%PDF-1.4 garbage", "application/pdf")})
    assert bad.status_code == 415 and "broken PDF" in bad.json()["error"]
    # the page read, as a searchable PDF: its scan at its resolution under our words
    import pypdfium2 as pdfium

    searchable = client.get(f"/api/pages/{two['page_id']}/render/pdf")
    assert searchable.status_code == 200 and searchable.headers["content-type"] == "application/pdf"
    document = pdfium.PdfDocument(searchable.content)
    assert round(document[0].get_size()[0] * 300 / 72) == two["width"]
    found = document[0].get_textpage().get_text_range().split()
    words = two["text"].split()
    assert sum(word in found for word in words) >= 0.9 * len(words)
    # a multi-page TIFF is a document too
    import io

    tiff = io.BytesIO()
    Image.open(folder / "p2.png").save(tiff, format="TIFF", save_all=True,
                                       append_images=[Image.open(folder / "p3.png")])
    tiff_page = client.post("/api/ocr", files={"image": ("scan.tif", tiff.getvalue(), "image/tiff")},
                            data={"page": "2"})
    assert tiff_page.status_code == 200
    assert (tiff_page.json()["document_page"], tiff_page.json()["document_pages"]) == (2, 2)
    assert tiff_page.json()["text"] == client.post("/api/ocr", files={"image": (
        "p3.png", (folder / "p3.png").read_bytes(), "image/png")}).json()["text"]
    # a correction of a PDF page is kept under that page's id
    saved = client.post("/api/corrections", json={"page_id": two["page_id"], "line_index": 0, "text": "fixed"})
    assert saved.status_code == 200
