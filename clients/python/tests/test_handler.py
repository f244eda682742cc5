"""tlog.LoggingHandler with the stdlib logging module."""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Iterator, List

import pytest

import tlog


@pytest.fixture
def pylog(prefix: str) -> Iterator[logging.Logger]:
    log = logging.getLogger(f"app.{prefix}")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    for h in list(log.handlers):
        log.removeHandler(h)
        h.close()


def test_records_with_tags_and_exceptions(logger: tlog.Logger, pylog: logging.Logger) -> None:
    handler = tlog.LoggingHandler(logger, tags=["web"], attrs=False, ttl=3600)
    handler.setFormatter(logging.Formatter("%(levelname)s %(message)s"))
    pylog.addHandler(handler)
    pylog.info("user %s logged in", "ann", extra={"tags": ["user:ann"]})
    try:
        print(1 / 0)
    except ZeroDivisionError:
        pylog.exception("it broke")
    recs = logger.get()
    assert str(recs[1]) == "INFO user ann logged in"
    assert recs[1].tags == ["web", "user:ann", "level:INFO", f"logger:{pylog.name}"]
    assert recs[0].tags == ["web", "level:ERROR", f"logger:{pylog.name}"]
    assert str(recs[0]).startswith("ERROR it broke\nTraceback (most recent call last):")
    assert "ZeroDivisionError: division by zero" in str(recs[0])
    assert logger.count("level:ERROR") == 1


def test_never_raises_into_the_application(pylog: logging.Logger, monkeypatch: Any) -> None:
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    handler = tlog.LoggingHandler(prefix="app", port=port, retry=Retry(NoBackoff(), 0), attrs=False)
    errors: List[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", errors.append)
    pylog.addHandler(handler)
    pylog.warning("lost")
    assert [r.getMessage() for r in errors] == ["lost"]


def test_server_error_goes_to_handle_error(
    logger: tlog.Logger, pylog: logging.Logger, monkeypatch: Any
) -> None:
    handler = tlog.LoggingHandler(logger, attrs=False)
    errors: List[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", errors.append)
    pylog.addHandler(handler)
    pylog.info("bad tag", extra={"tags": ["flow:x"]})
    pylog.info("good")
    assert [r.getMessage() for r in errors] == ["bad tag"]
    assert [str(r) for r in logger.get()] == ["good"]


def test_queue_mode(logger: tlog.Logger, pylog: logging.Logger) -> None:
    handler = tlog.LoggingHandler(logger, attrs=False, queue_size=1000, maxlen=10_000)
    pylog.addHandler(handler)
    for i in range(200):
        pylog.info("n=%d", i)
    try:
        raise KeyError("k")
    except KeyError:
        pylog.exception("failed")
    handler.flush()
    recs = logger.get(order="asc")
    assert [str(r) for r in recs[:200]] == [f"n={i}" for i in range(200)]
    assert "KeyError: 'k'" in str(recs[200])
    assert handler.dropped == 0
    pylog.info("at close")
    pylog.removeHandler(handler)
    handler.close()  # sends what is queued
    latest = logger.get_latest()
    assert latest is not None and str(latest) == "at close"


def test_queue_mode_never_blocks_on_a_slow_redis(pylog: logging.Logger, monkeypatch: Any) -> None:
    """A "server" that accepts connections and never answers: the application goes on at
    once, the records beyond the queue's size are dropped and counted, and those that were
    queued go to handleError when their sends time out."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    with socket.socket() as silent:
        silent.bind(("127.0.0.1", 0))
        silent.listen(64)
        port = silent.getsockname()[1]
        held: List[socket.socket] = []
        threading.Thread(
            target=lambda: [held.append(silent.accept()[0]) for _ in range(64)], daemon=True
        ).start()
        handler = tlog.LoggingHandler(
            prefix="app",
            port=port,
            socket_timeout=0.1,
            retry=Retry(NoBackoff(), 0),
            attrs=False,
            queue_size=5,
        )
        errors: List[logging.LogRecord] = []
        monkeypatch.setattr(handler, "handleError", errors.append)
        pylog.addHandler(handler)
        t0 = time.monotonic()
        for i in range(50):
            pylog.info("m%d", i)
        assert time.monotonic() - t0 < 0.5  # the application was not held
        assert 44 <= handler.dropped <= 45
        pylog.removeHandler(handler)
        handler.close()
        assert len(errors) == 50 - handler.dropped
