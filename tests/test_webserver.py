"""The server's own limits: half-sent requests are dropped, a flood of bad requests does not flood the log."""

import logging
import os
import socket
import threading
import time

import pytest


@pytest.fixture()
def server(monkeypatch):
    """A small app served by crnn.web.server's config on a free port, with short deadlines."""
    import uvicorn
    from fastapi import FastAPI

    from crnn.web import server as web_server

    monkeypatch.setattr(web_server.DeadlineH11Protocol, "header_timeout", 0.5)
    monkeypatch.setattr(web_server.DeadlineH11Protocol, "body_timeout", 0.5)
    app = FastAPI()

    @app.post("/echo")
    async def echo(body: dict):
        return body

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    instance = uvicorn.Server(web_server.server_config(app, "127.0.0.1", port, log_level="warning"))
    thread = threading.Thread(target=instance.run, daemon=True)
    thread.start()
    while not instance.started:
        time.sleep(0.02)
    yield port
    instance.should_exit = True
    thread.join(timeout=10)


def _closed_by_server(sock: socket.socket, within: float) -> bool:
    sock.settimeout(within)
    try:
        return sock.recv(1024) == b""
    except TimeoutError:
        return False


def test_a_connection_that_never_finishes_its_headers_is_closed(server):
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        assert _closed_by_server(sock, 3.0)


def test_a_body_that_stalls_is_closed_but_a_whole_request_is_answered(server):
    with socket.create_connection(("127.0.0.1", server)) as sock:
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: 100\r\n\r\n{\"a\":")
        assert _closed_by_server(sock, 3.0)
    with socket.create_connection(("127.0.0.1", server)) as sock:
        body = b'{"a": 1}'
        sock.sendall(b"POST /echo HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                     b"Content-Length: %d\r\nConnection: close\r\n\r\n%s" % (len(body), body))
        sock.settimeout(5)
        answer = b""
        while chunk := sock.recv(4096):
            answer += chunk
        assert answer.startswith(b"HTTP/1.1 200") and answer.endswith(b'{"a":1}')


def test_the_malformed_request_warning_is_rate_limited():
    from crnn.web.server import RateLimitedWarnings

    limiter = RateLimitedWarnings("Invalid HTTP request received.", interval=60)
    records = [logging.LogRecord("uvicorn.error", logging.WARNING, "", 0, "Invalid HTTP request received.", (),
                                 None) for _ in range(1000)]
    assert sum(limiter.filter(record) for record in records) == 1
    other = logging.LogRecord("uvicorn.error", logging.WARNING, "", 0, "something else", (), None)
    assert limiter.filter(other)


def test_serve_refuses_a_worker_count_below_one_in_one_line(capsys):
    from crnn.cli.serve import build_parser

    with pytest.raises(SystemExit) as stopped:
        build_parser().parse_args(["--workers", "0"])
    assert stopped.value.code == 2
    assert "--workers: must be at least 1" in capsys.readouterr().err
    assert build_parser().parse_args(["--workers", "3"]).workers == 3


@pytest.mark.parametrize("workers", ["1", "2"])
def test_ctrl_c_while_pages_are_read_stops_the_server_without_a_traceback(tmp_path, tiny_checkpoint, workers):
    import contextlib
    import signal
    import subprocess
    import sys
    from pathlib import Path

    import cv2
    import httpx

    from crnn.synth.pages import PageGenerator

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    script = Path(__file__).resolve().parent.parent / "scripts" / "serve.py"
    server = subprocess.Popen([sys.executable, str(script), "--port", str(port), "--checkpoint", str(tiny_checkpoint),
                               "--corrections-dir", str(tmp_path / "c"), "--workers", workers],
                              stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while time.time() < deadline:
            try:
                if httpx.get(f"{url}/api/health", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        page = cv2.imencode(".png", PageGenerator(2).generate(two_pages=True).image)[1].tobytes()

        def post() -> None:
            with contextlib.suppress(httpx.HTTPError):  # the server goes away mid-request, as it should
                httpx.post(f"{url}/api/ocr", files={"image": ("p.png", page, "image/png")}, timeout=30)

        clients = [threading.Thread(target=post) for _ in range(4)]
        for client in clients:
            client.start()
        time.sleep(0.5)
        os.killpg(server.pid, signal.SIGINT)  # what Ctrl-C in the terminal sends: the whole group
        output, _ = server.communicate(timeout=60)
        for client in clients:
            client.join()
    finally:
        if server.poll() is None:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()
    assert server.returncode in (0, 130)
    assert "Traceback" not in output.decode(errors="replace")
