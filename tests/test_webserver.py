"""The server's own limits: half-sent requests are dropped, a flood of bad requests does not flood the log."""

import logging
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
