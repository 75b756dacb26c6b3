import base64
import io
import json
import threading
import xml.etree.ElementTree as ET

import cv2
import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image

from crnn.charset import Charset
from crnn.document import Block, Box, Line, Page
from crnn.formats import FORMATS
from crnn.layout import LineRegion
from crnn.pipeline import OcrResult, PageReader
from crnn.web.app import create_app


def _crop(seed: int) -> np.ndarray:
    """A distinct stand-in for the normalized line image a model read."""
    return np.random.default_rng(seed).integers(0, 256, (32, 90), dtype=np.uint8)


class FixedReader:
    """Wraps a real (tiny) PageReader but returns known lines, so the API can be tested exactly."""

    def __init__(self, reader: PageReader) -> None:
        self.recognizer = reader.recognizer
        self.calls = 0
        self.lock = threading.Lock()

    def read(self, image, source=""):
        with self.lock:
            self.calls += 1
        h, w = image.shape
        lines = [Line(Box(10, 10, w - 10, 30), "first line", 0.9), Line(Box(10, 40, w - 10, 60), "secnd line", 0.3)]
        page = Page(w, h, [Block(Box(10, 10, w - 10, 60), lines)], source=source)
        return OcrResult(page, None, tuple(LineRegion(line.box, _crop(i)) for i, line in enumerate(lines)))


def _client(app) -> TestClient:
    """A test client that names this machine as its host, as a browser on it would."""
    return TestClient(app, base_url="http://127.0.0.1:8000")


@pytest.fixture(scope="module")
def reader(tiny_checkpoint):
    return FixedReader(PageReader(tiny_checkpoint))


@pytest.fixture()
def client(reader, tmp_path):
    return _client(create_app(reader=reader, corrections_dir=tmp_path / "corrections", max_bytes=2_000_000,
                                 max_pixels=4_000_000))


def _png(width=200, height=100) -> bytes:
    image = np.full((height, width), 230, np.uint8)
    cv2.putText(image, "text", (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 20, 2)
    return cv2.imencode(".png", image)[1].tobytes()


def _ocr(client, data=None):
    response = client.post("/api/ocr", files={"image": ("page.png", data or _png(), "image/png")})
    assert response.status_code == 200, response.text
    return response.json()


def test_health(client):
    body = client.get("/api/health").json()
    assert body["status"] == "ok" and body["charset_size"] == len(Charset())
    assert "abc" in body["model_version"]


def test_index_page_is_served_without_external_resources(client):
    html = client.get("/").text
    assert "<script>" in html and "/api/ocr" in html
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html


def test_ocr_multipart_and_data_url_agree(client):
    multipart = _ocr(client)
    url = "data:image/png;base64," + base64.b64encode(_png()).decode()
    as_json = client.post("/api/ocr", json={"image": url, "filename": "page.png"}).json()
    assert multipart["page_id"] == as_json["page_id"]
    assert [line["text"] for line in multipart["blocks"][0]["lines"]] == ["first line", "secnd line"]
    assert multipart["blocks"][0]["lines"][1]["uncertain"] is True


def test_ocr_of_a_generated_page_with_the_real_pipeline(tmp_path, reader):
    from crnn.formats import to_dict
    from crnn.synth.pages import PageGenerator

    real = PageReader(reader.recognizer.checkpoint.path)
    app = create_app(reader=real, corrections_dir=tmp_path / "c")
    image = PageGenerator(5).generate(two_pages=False).image
    response = _client(app).post("/api/ocr", files={"image": ("p.png", cv2.imencode(".png", image)[1].tobytes(),
                                                                 "image/png")})
    assert response.status_code == 200
    body = response.json()
    expected = to_dict(real.read(image, source="p.png").page)
    assert {k: body[k] for k in expected} == expected  # the app sends what the library reads


def test_correction_saves_the_crop_the_model_read(tmp_path, reader):
    """The saved image is the normalized line the recognizer read (deskewed, framed, 32 px high), so a
    model fine-tuned on corrections sees what it will read."""
    from crnn.synth.pages import PageGenerator

    real = PageReader(reader.recognizer.checkpoint.path)
    corrections = tmp_path / "c"
    client = _client(create_app(reader=real, corrections_dir=corrections))
    image = PageGenerator(6).generate(two_pages=False).image
    page = client.post("/api/ocr", files={"image": ("p.png", cv2.imencode(".png", image)[1].tobytes(),
                                                    "image/png")}).json()
    lines = [line for block in page["blocks"] for line in block["lines"]]
    if not lines:
        pytest.skip("the untrained model read every line as nothing")
    record = client.post("/api/corrections", json={"page_id": page["page_id"], "line_index": 0,
                                                   "text": "corrected"}).json()["saved"][0]
    saved = cv2.imread(str(corrections / f"{record['id']}.png"), cv2.IMREAD_GRAYSCALE)
    result = real.read(image)
    np.testing.assert_array_equal(saved, result.crop_of(0))
    assert saved.shape[0] == real.recognizer.geometry.height


@pytest.mark.parametrize(
    ("kwargs", "status"),
    [
        ({"files": {"image": ("x.png", b"", "image/png")}}, 400),
        ({"files": {"image": ("x.png", b"definitely not an image", "image/png")}}, 415),
        ({"files": {"image": ("x.png", _png()[:80], "image/png")}}, 415),
        ({"content": b"raw bytes", "headers": {"content-type": "application/octet-stream"}}, 415),
        ({"content": b"{not json", "headers": {"content-type": "application/json"}}, 400),
        ({"json": {"image": "data:image/png;base64,!!!"}}, 400),
        ({"json": {"picture": "x"}}, 400),
        ({"files": {"other": ("x.png", _png(), "image/png")}}, 400),
    ],
)
def test_bad_uploads_are_4xx_with_a_json_error(client, kwargs, status):
    response = client.post("/api/ocr", **kwargs)
    assert response.status_code == status
    assert set(response.json()) == {"error"}
    assert client.get("/api/health").status_code == 200  # still serving


def test_size_limits(client):
    big = Image.new("L", (2100, 2000), 255)
    buffer = io.BytesIO()
    big.save(buffer, "PNG")
    assert client.post("/api/ocr", files={"image": ("b.png", buffer.getvalue(), "image/png")}).status_code == 413
    assert client.post("/api/ocr", files={"image": ("b.bmp", b"BM" + b"\0" * 2_100_000, "image/bmp")}).status_code \
        == 413


def test_corrections_are_saved_listed_and_survive_a_restart(reader, tmp_path):
    corrections = tmp_path / "corrections"
    client = _client(create_app(reader=reader, corrections_dir=corrections))
    page = _ocr(client)
    response = client.post("/api/corrections", json={"page_id": page["page_id"],
                                                     "corrections": [{"line_index": 1, "text": "second line"}]})
    assert response.status_code == 200, response.text
    record = response.json()["saved"][0]
    files = sorted(p.name for p in corrections.iterdir())
    assert files == sorted(f"{record['id']}{suffix}" for suffix in (".gt.txt", ".json", ".png"))
    assert (corrections / f"{record['id']}.gt.txt").read_text(encoding="utf-8") == "second line\n"
    stored = json.loads((corrections / f"{record['id']}.json").read_text(encoding="utf-8"))
    assert stored["prediction"] == "secnd line" and stored["correction"] == "second line"
    assert stored["box"] and stored["model_version"] and stored["source_image_sha256"] == page["page_id"]
    saved = cv2.imread(str(corrections / f"{record['id']}.png"), cv2.IMREAD_GRAYSCALE)
    np.testing.assert_array_equal(saved, _crop(1))  # line 1's crop, as the model read it
    text = client.get(f"/api/pages/{page['page_id']}/text").text
    assert text == "first line\nsecond line\n"

    restarted = _client(create_app(reader=reader, corrections_dir=corrections))
    again = _ocr(restarted)
    assert [c["correction"] for c in again["corrections"]] == ["second line"]
    assert len(restarted.get("/api/corrections").json()["corrections"]) == 1


def test_saving_twice_keeps_both(client):
    page = _ocr(client)
    for text in ("one", "two"):
        body = {"page_id": page["page_id"], "line_index": 0, "text": text}
        assert client.post("/api/corrections", json=body).status_code == 200
    assert [c["correction"] for c in client.get(f"/api/corrections?page_id={page['page_id']}").json()
            ["corrections"]] == ["one", "two"]


@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"line_index": 7, "text": "x"}, 404),
        ({"line_index": -1, "text": "x"}, 404),
        ({"line_index": "0", "text": "x"}, 404),
        ({"line_index": 0, "text": "漢字"}, 422),
        ({"line_index": 0, "text": "two\nlines"}, 400),
        ({"line_index": 0, "text": 5}, 400),
    ],
)
def test_bad_corrections_are_refused(client, body, status):
    page = _ocr(client)
    response = client.post("/api/corrections", json={"page_id": page["page_id"], **body})
    assert response.status_code == status
    assert "error" in response.json()


@pytest.mark.parametrize("page_id", ["../../etc/passwd", "a" * 63 + "/", "A" * 64, "0" * 64, 5, None])
def test_path_traversal_and_unknown_pages_are_refused(client, tmp_path, page_id):
    response = client.post("/api/corrections", json={"page_id": page_id, "line_index": 0, "text": "x"})
    assert response.status_code in (400, 404)
    listing = client.get("/api/corrections", params={"page_id": str(page_id)})
    assert listing.status_code in (200, 400)
    assert client.get(f"/api/pages/{page_id}/text").status_code in (400, 404)
    assert not list(tmp_path.rglob("passwd"))


def test_filename_from_the_upload_never_names_a_file(client, tmp_path):
    response = client.post("/api/ocr", files={"image": ("../../evil.png", _png(), "image/png")})
    assert response.status_code == 200
    page = response.json()
    client.post("/api/corrections", json={"page_id": page["page_id"], "line_index": 0, "text": "ok"})
    assert not list(tmp_path.parent.rglob("evil*"))
    assert all(p.name[:8].isdigit() for p in (tmp_path / "corrections").iterdir())


@pytest.mark.parametrize("fmt", list(FORMATS))
def test_every_format_can_be_downloaded(client, fmt):
    page = _ocr(client)
    response = client.get(f"/api/pages/{page['page_id']}/render/{fmt}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith(FORMATS[fmt].media_type.split(";")[0])
    assert FORMATS[fmt].extension in response.headers["content-disposition"]
    if fmt in ("txt", "json"):
        assert "first line" in response.text and "secnd line" in response.text
    elif fmt == "pdf":  # the page image the upload was, at its resolution, under its text layer
        import pypdfium2 as pdfium

        document = pdfium.PdfDocument(response.content)
        width_pt, height_pt = document[0].get_size()
        assert len(document) == 1 and round(width_pt * 300 / 72) == page["width"]
        assert round(height_pt * 300 / 72) == page["height"]
    else:  # the fixed page's lines have no words: their boxes are what the XML formats carry
        root = ET.fromstring(response.content)
        tag = "TextLine" if fmt == "alto" else "span"
        assert len([e for e in root.iter() if e.tag.endswith(tag)]) == 2
    assert client.get(f"/api/pages/{page['page_id']}/render/docx").status_code == 404


def test_corrections_must_be_sent_as_json(client):
    response = client.post("/api/corrections", content=b'{"page_id": "x", "line_index": 0, "text": "a"}',
                           headers={"content-type": "text/plain"})
    assert response.status_code == 415 and "error" in response.json()


def test_another_site_cannot_write_and_a_rebound_name_cannot_read(client):
    body = {"page_id": "0" * 64, "line_index": 0, "text": "a"}
    foreign = client.post("/api/corrections", json=body, headers={"origin": "http://evil.example"})
    assert foreign.status_code == 403 and foreign.json()["error"].startswith("cross-site")
    own = client.post("/api/corrections", json=body, headers={"origin": "http://127.0.0.1:8000"})
    assert own.status_code == 404  # let through: the page is simply unknown
    rebound = client.get("/api/corrections", headers={"host": "evil.example"})
    assert rebound.status_code == 400 and "not served" in rebound.json()["error"]
    assert client.get("/api/corrections", headers={"host": "localhost:8000"}).status_code == 200


def test_framework_errors_answer_in_the_apps_error_shape(client):
    for response in (client.get("/api/no-such-route"), client.put("/api/corrections", json={}),
                     client.get("/api/corrections", params={"page_id": ["a", "b"]})):
        body = response.json()
        assert response.status_code >= 400 and set(body) == {"error"} and body["error"], (response.status_code, body)


class SlowReader(FixedReader):
    """Takes its time over every page, as a big page on a small machine does."""

    seconds = 1.5

    def read(self, image, source=""):
        import time

        time.sleep(self.seconds)
        return super().read(image, source)


def test_health_answers_while_pages_are_being_read(tiny_checkpoint, tmp_path):
    import time

    reader = SlowReader(PageReader(tiny_checkpoint))
    answers = []
    # as a context manager the client runs every request on one event loop, as a server does
    with _client(create_app(reader=reader, corrections_dir=tmp_path / "corrections")) as client:
        uploads = [threading.Thread(target=lambda: answers.append(_ocr(client))) for _ in range(3)]
        for upload in uploads:
            upload.start()
        time.sleep(0.4)  # the reads are under way
        started = time.perf_counter()
        assert client.get("/api/health").status_code == 200
        waited = time.perf_counter() - started
        for upload in uploads:
            upload.join()
    assert len(answers) == 3 and reader.calls == 3
    # reading runs in worker threads: the event loop, and so health, never waits for a page
    assert waited < 0.5, f"health waited {waited:.2f} s behind the reads"


# --- records whole or not at all; limits before reading; small things (hardening issue) ----------------------

def _data_url(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode()


def test_a_lone_surrogate_file_name_is_cleaned_and_the_page_still_corrects(client, tmp_path):
    response = client.post("/api/ocr", content=json.dumps({"image": _data_url(_png()), "filename": "\ud800.png"}),
                           headers={"content-type": "application/json"})
    assert response.status_code == 200, response.text
    page = response.json()
    assert "\ud800" not in page["source"] and page["source"].endswith(".png")
    saved = client.post("/api/corrections", json={"page_id": page["page_id"], "line_index": 0, "text": "first"})
    assert saved.status_code == 200, saved.text
    correction_id = saved.json()["saved"][0]["id"]
    assert {p.name for p in (tmp_path / "corrections").glob(f"{correction_id}*")} == {
        f"{correction_id}.png", f"{correction_id}.gt.txt", f"{correction_id}.json"}


def test_an_interrupted_save_leaves_no_training_pair_and_no_record(reader, tmp_path, monkeypatch):
    import crnn.web.store as store_module
    from crnn.data import FolderDataset

    written = []

    def fail_on_second(path, data):
        if written:
            raise OSError("disk full")
        written.append(path)
        return original(path, data)

    original = store_module.write_new_file
    monkeypatch.setattr(store_module, "write_new_file", fail_on_second)
    app = create_app(reader=reader, corrections_dir=tmp_path / "corrections")
    client = TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False)
    page = _ocr(client)
    response = client.post("/api/corrections", json={"page_id": page["page_id"], "line_index": 0, "text": "x"})
    assert response.status_code == 500 and set(response.json()) == {"error"}
    assert len(FolderDataset(tmp_path / "corrections")) == 0
    assert client.get("/api/corrections").json()["corrections"] == []


def test_unexpected_errors_answer_as_json_without_a_traceback(tiny_checkpoint, tmp_path):
    class Broken(FixedReader):
        def read(self, image, source=""):
            raise RuntimeError("something deep inside broke")

    app = create_app(reader=Broken(PageReader(tiny_checkpoint)), corrections_dir=tmp_path / "c")
    response = TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False).post(
        "/api/ocr", files={"image": ("p.png", _png(), "image/png")})
    assert response.status_code == 500 and response.json() == {"error": "internal server error"}


def test_more_corrections_than_lines_or_a_line_twice_is_refused(client, tmp_path):
    page = _ocr(client)  # two lines
    many = [{"line_index": i % 2, "text": f"t{i}"} for i in range(2000)]
    response = client.post("/api/corrections", json={"page_id": page["page_id"], "corrections": many})
    assert response.status_code == 413 and "one per line" in response.json()["error"]
    twice = [{"line_index": 0, "text": "a"}, {"line_index": 0, "text": "b"}]
    response = client.post("/api/corrections", json={"page_id": page["page_id"], "corrections": twice})
    assert response.status_code == 400 and "twice" in response.json()["error"]
    assert not list((tmp_path / "corrections").glob("*"))


def test_json_nested_too_deep_is_a_400(client):
    deep = "[" * 100_000 + "]" * 100_000
    for path in ("/api/ocr", "/api/corrections"):
        response = client.post(path, content=deep, headers={"content-type": "application/json"})
        assert response.status_code == 400 and "malformed" in response.json()["error"]


def test_a_decompression_bomb_is_413(client):
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = _png()
    bomb = png[:33] + chunk(b"zTXt", b"Comment\0\0" + zlib.compress(b"\0" * (20 * 1024 * 1024), 9)) + png[33:]
    response = client.post("/api/ocr", files={"image": ("bomb.png", bomb, "image/png")})
    assert response.status_code == 413 and set(response.json()) == {"error"}


def _request(headers: dict[str, str], chunks: list[bytes]):
    from starlette.requests import Request

    received = []

    async def receive():
        if len(received) < len(chunks):
            received.append(chunks[len(received)])
            return {"type": "http.request", "body": received[-1], "more_body": len(received) < len(chunks)}
        return {"type": "http.disconnect"}

    scope = {"type": "http", "method": "POST", "path": "/", "headers": [(k.encode(), v.encode())
                                                                        for k, v in headers.items()]}
    return Request(scope, receive), received


@pytest.mark.parametrize("declared", [True, False])
def test_a_body_over_the_limit_is_refused_before_it_is_read_whole(declared):
    import asyncio

    from crnn.web.app import read_body
    from crnn.web.uploads import RequestError

    chunks = [b"x" * 1000] * 50
    headers = {"content-length": str(50_000)} if declared else {}
    request, received = _request(headers, chunks)
    with pytest.raises(RequestError) as info:
        asyncio.run(read_body(request, 5_000))
    assert info.value.status == 413
    # declared: refused from the header alone; streamed: stopped at the first chunk past the limit
    assert len(received) == (0 if declared else 6)
    request, _ = _request({}, [b"ab", b"cd"])
    assert asyncio.run(read_body(request, 5_000)) == b"abcd"


def test_corrections_are_stored_nfc_and_an_empty_one_is_refused(client, tmp_path):
    page = _ocr(client)
    decomposed = "cafe\u0301"
    saved = client.post("/api/corrections", json={"page_id": page["page_id"], "line_index": 0, "text": decomposed})
    assert saved.status_code == 200
    correction_id = saved.json()["saved"][0]["id"]
    assert (tmp_path / "corrections" / f"{correction_id}.gt.txt").read_text(encoding="utf-8") == "caf\u00e9\n"
    empty = client.post("/api/corrections", json={"page_id": page["page_id"], "line_index": 1, "text": "  "})
    assert empty.status_code == 400 and "empty" in empty.json()["error"]


def test_base64_with_line_breaks_is_accepted(client):
    encoded = base64.encodebytes(_png()).decode()  # MIME style: a line break every 76 characters
    assert "\n" in encoded.strip()
    response = client.post("/api/ocr", json={"image": "data:image/png;base64," + encoded})
    assert response.status_code == 200, response.text


def test_head_security_headers_and_no_cdn_docs(client):
    head = client.head("/")
    assert head.status_code == 200
    for response in (head, client.get("/api/health"), client.get("/api/no-such-route")):
        assert response.headers["x-content-type-options"] == "nosniff"
        assert response.headers["x-frame-options"] == "DENY"
        assert "default-src 'self'" in response.headers["content-security-policy"]
    assert client.get("/docs").status_code == 404 and client.get("/redoc").status_code == 404
    assert client.get("/openapi.json").status_code == 200


def _distinct_png(seed: int) -> bytes:
    image = np.full((100, 200), 230, np.uint8)
    cv2.putText(image, f"p{seed}", (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.2, 20, 2)
    return cv2.imencode(".png", image)[1].tobytes()


def test_a_page_can_be_corrected_after_many_other_uploads_and_a_restart(reader, tmp_path):
    corrections = tmp_path / "corrections"
    client = _client(create_app(reader=reader, corrections_dir=corrections, max_memory_bytes=20_000))
    first = _ocr(client, _distinct_png(0))
    for seed in range(1, 41):  # more than the old in-memory cache held
        _ocr(client, _distinct_png(seed))
    saved = client.post("/api/corrections", json={"page_id": first["page_id"], "line_index": 0, "text": "late"})
    assert saved.status_code == 200, saved.text
    restarted = _client(create_app(reader=reader, corrections_dir=corrections))
    assert restarted.get(f"/api/pages/{first['page_id']}/text").text.startswith("late\n")
    again = restarted.post("/api/corrections", json={"page_id": first["page_id"], "line_index": 1, "text": "x"})
    assert again.status_code == 200


def test_pages_on_disk_are_bounded_but_a_corrected_page_is_kept(reader, tmp_path):
    corrections = tmp_path / "corrections"
    client = _client(create_app(reader=reader, corrections_dir=corrections, max_pages=5, max_memory_bytes=1))
    corrected = _ocr(client, _distinct_png(0))
    assert client.post("/api/corrections", json={"page_id": corrected["page_id"], "line_index": 0,
                                                 "text": "keep me"}).status_code == 200
    ids = [_ocr(client, _distinct_png(seed))["page_id"] for seed in range(1, 12)]
    kept = {p.stem for p in (tmp_path / "corrections.pages").glob("*.npz")}
    assert len(kept) == 5 and corrected["page_id"] in kept and ids[-1] in kept and ids[0] not in kept
    gone = client.post("/api/corrections", json={"page_id": ids[0], "line_index": 0, "text": "x"})
    assert gone.status_code == 404


def test_the_page_store_keeps_its_disk_under_its_byte_bound_but_never_drops_a_corrected_page(tmp_path):
    from crnn.web.store import PageStore, StoredPage

    page = Page(300, 200, [Block(Box(1, 2, 30, 40), [Line(Box(1, 2, 30, 40), "ab", 0.5)], 1)])
    corrected = {"0" * 64}
    store = PageStore(tmp_path, lambda: corrected, max_disk_bytes=350_000)
    for n in range(8):
        store.put(StoredPage(str(n) * 64, page, (_crop(1),), "x.png", bytes(100_000)))
    kept = {p.stem[0] for p in tmp_path.glob("*.npz")}
    assert sum(p.stat().st_size for p in tmp_path.glob("*.npz")) <= 350_000 + 110_000  # the corrected one aside
    assert "0" in kept and "7" in kept and len(kept) <= 4 and "1" not in kept


def test_the_page_store_round_trips_pages_and_crops(tmp_path):
    from crnn.web.store import PageStore, StoredPage

    page = Page(300, 200, [Block(Box(1, 2, 30, 40), [Line(Box(1, 2, 30, 40), "ab", 0.5)], 1)], 0.3,
                [Box(0, 0, 300, 200)], [Box(5, 5, 9, 9)], "x.png", 90)
    stored = StoredPage("a" * 64, page, (_crop(1),), "x.png", b"\x89PNG scan bytes", 400.0)
    PageStore(tmp_path, set).put(stored)
    loaded = PageStore(tmp_path, set).get("a" * 64)
    assert loaded.page == page and loaded.filename == "x.png"
    assert (loaded.scan, loaded.dpi) == (b"\x89PNG scan bytes", 400.0)
    np.testing.assert_array_equal(loaded.crops[0], _crop(1))


# --- reading processes -------------------------------------------------------------------------------------------


def _page_png() -> bytes:
    from crnn.synth.pages import PageGenerator

    ok, encoded = cv2.imencode(".png", PageGenerator(4).generate(two_pages=False).image)
    assert ok
    return encoded.tobytes()


def test_reading_processes_answer_as_the_servers_own_threads_and_survive_a_dead_worker(tiny_checkpoint, tmp_path):
    import os
    import signal

    page = _page_png()
    post = {"files": {"image": ("page.png", page, "image/png")}}
    threads = _client(create_app(reader=PageReader(tiny_checkpoint), corrections_dir=tmp_path / "a"))
    expected = threads.post("/api/ocr", **post).json()
    assert expected["blocks"] and expected["blocks"][0]["lines"]
    app = create_app(tiny_checkpoint, corrections_dir=tmp_path / "b", workers=2)
    with TestClient(app, base_url="http://127.0.0.1:8000") as client:  # with: the workers stop at the end
        pids = app.state.readers.worker_pids()
        assert len(pids) == 2 and os.getpid() not in pids
        answers = [client.post("/api/ocr", **post) for _ in range(3)]
        assert all(a.status_code == 200 and a.json() == expected for a in answers)
        saved = client.post("/api/corrections", json={"page_id": expected["page_id"], "line_index": 0,
                                                      "text": "a corrected line"})
        assert saved.status_code == 200  # the page read in a worker is kept by the server
        refused = client.post("/api/ocr", files={"image": ("x.png", b"not an image", "image/png")})
        assert refused.status_code == 415 and "error" in refused.json()
        for pid in pids:
            os.kill(pid, signal.SIGKILL)
        failed = client.post("/api/ocr", **post)
        assert failed.status_code == 500 and "try again" in failed.json()["error"]
        again = client.post("/api/ocr", **post)
        assert again.status_code == 200 and again.json()["blocks"] == expected["blocks"]
        assert not set(app.state.readers.worker_pids()) & set(pids)


def test_reading_processes_refuse_a_checkpoint_they_cannot_load_at_start_up(tiny_checkpoint, tmp_path):
    import shutil

    from crnn.recognize import CheckpointError

    broken = tmp_path / "broken"
    shutil.copytree(tiny_checkpoint, broken)
    (broken / "model.onnx").write_bytes(b"not a model")
    (broken / "model.keras").write_bytes(b"not a model either")
    with pytest.raises(CheckpointError):
        create_app(broken, corrections_dir=tmp_path / "c", workers=2, backend="onnx")
