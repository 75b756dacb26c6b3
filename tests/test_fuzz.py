"""Property-based tests of what clients send: any bytes to the image loader, any JSON to the endpoints."""

import json

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crnn.io import ImageError, load_image

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=10), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=2048))
def test_any_bytes_decode_to_an_image_or_a_one_line_image_error(data):
    try:
        image = load_image(data)
    except ImageError as exc:
        assert str(exc) and "\n" not in str(exc)
    else:
        assert image.dtype == np.uint8 and image.ndim == 2


@settings(max_examples=150, deadline=None)
@given(st.sampled_from([b"\x89PNG\r\n\x1a\n", b"\xff\xd8\xff\xe0", b"II*\x00", b"GIF89a", b"BM"]),
       st.binary(max_size=1024))
def test_truncated_and_garbled_files_after_a_real_signature_are_image_errors(signature, rest):
    try:
        load_image(signature + rest)
    except ImageError as exc:
        assert "\n" not in str(exc)


@pytest.fixture(scope="module")
def client(tiny_checkpoint, tmp_path_factory):
    from fastapi.testclient import TestClient

    from crnn.pipeline import PageReader
    from crnn.web.app import create_app

    app = create_app(reader=PageReader(tiny_checkpoint), corrections_dir=tmp_path_factory.mktemp("c") / "corr")
    return TestClient(app, base_url="http://127.0.0.1:8000", raise_server_exceptions=False)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=json_values, path=st.sampled_from(["/api/ocr", "/api/corrections"]))
def test_any_json_to_the_endpoints_is_a_4xx_with_an_error(client, payload, path):
    response = client.post(path, content=json.dumps(payload), headers={"content-type": "application/json"})
    assert 400 <= response.status_code < 500, (response.status_code, response.text)
    assert set(response.json()) == {"error"}


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(page_id=st.text(max_size=80), line=json_values, text=json_values)
def test_any_correction_fields_are_a_4xx_with_an_error(client, page_id, line, text):
    response = client.post("/api/corrections", json={"page_id": page_id, "line_index": line, "text": text})
    assert 400 <= response.status_code < 500 and set(response.json()) == {"error"}
