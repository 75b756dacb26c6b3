"""Serving the app with uvicorn, with limits a bare uvicorn does not set.

uvicorn waits for a request's headers and body as long as a client cares to send them, so
half-sent requests can hold connections forever (and lock others out), and it logs every
malformed request, which a flood turns into megabytes of log. Here a connection must send its
headers within ``HEADER_TIMEOUT`` seconds of opening (or of its previous response) and its body
within ``BODY_TIMEOUT`` more; connections beyond ``MAX_CONNECTIONS`` are answered 503; and the
malformed-request warning is written at most once per ``LOG_INTERVAL`` seconds, with a count
of those left out.
"""

from __future__ import annotations

import logging
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

HEADER_TIMEOUT = 10.0
BODY_TIMEOUT = 30.0
MAX_CONNECTIONS = 200
LOG_INTERVAL = 10.0


class DeadlineH11Protocol(H11Protocol):
    """uvicorn's HTTP/1.1 protocol, closing a connection whose request does not arrive in time."""

    header_timeout = HEADER_TIMEOUT
    body_timeout = BODY_TIMEOUT

    def connection_made(self, transport: Any) -> None:
        super().connection_made(transport)
        self._deadline = self.loop.call_later(self.header_timeout, self._check_deadline, False)

    def _check_deadline(self, waited_for_body: bool) -> None:
        if self.transport.is_closing():
            return
        receiving_body = self.cycle is not None and self.conn.their_state is h11.SEND_BODY
        if receiving_body and not waited_for_body:
            self._deadline = self.loop.call_later(self.body_timeout, self._check_deadline, True)
            return
        if self.cycle is None or receiving_body:
            # headers never came, or the body stalled: nothing will ever answer this request
            self.transport.close()

    def connection_lost(self, exc: Exception | None) -> None:
        self._deadline.cancel()
        super().connection_lost(exc)


class RateLimitedWarnings(logging.Filter):
    """Lets a repeated warning through at most once per ``interval`` seconds, saying how many it held back."""

    def __init__(self, message: str, interval: float = LOG_INTERVAL) -> None:
        super().__init__()
        self.message = message
        self.interval = interval
        self._last = -float("inf")
        self._held = 0

    def filter(self, record: logging.LogRecord) -> bool:
        if record.getMessage() != self.message:
            return True
        now = time.monotonic()
        if now - self._last < self.interval:
            self._held += 1
            return False
        if self._held:
            record.msg = f"{self.message} ({self._held} more since the last report)"
            record.args = ()
        self._last, self._held = now, 0
        return True


def server_config(app: Any, host: str, port: int, log_level: str = "info"):
    """The uvicorn config the app is served with (``uvicorn.Server(server_config(...)).run()``)."""
    import uvicorn

    logging.getLogger("uvicorn.error").addFilter(RateLimitedWarnings("Invalid HTTP request received."))
    return uvicorn.Config(app, host=host, port=port, log_level=log_level, http=DeadlineH11Protocol,
                          timeout_keep_alive=5, limit_concurrency=MAX_CONNECTIONS)


def serve(app: Any, host: str, port: int, log_level: str = "info") -> None:
    """Serve ``app`` until interrupted."""
    import uvicorn

    uvicorn.Server(server_config(app, host, port, log_level)).run()
