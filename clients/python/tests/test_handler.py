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
    """The server refuses every write of a prefix with a 'flow' segment."""
    bad = tlog.Logger(f"{logger.prefix}:flow", client=logger.client)
    handler = tlog.LoggingHandler(bad, attrs=False)
    errors: List[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", errors.append)
    pylog.addHandler(handler)
    pylog.info("refused")
    assert [r.getMessage() for r in errors] == ["refused"]
    pylog.removeHandler(handler)
    handler = tlog.LoggingHandler(logger, attrs=False)
    pylog.addHandler(handler)
    pylog.info("good")
    assert [str(r) for r in logger.get()] == ["good"]


def test_bad_tags_are_left_out_not_the_record(
    logger: tlog.Logger, pylog: logging.Logger, monkeypatch: Any
) -> None:
    """A tag the server would refuse is dropped, a non-str tag is its str(): the record is
    stored with the other tags."""
    handler = tlog.LoggingHandler(logger, attrs=False)
    errors: List[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", errors.append)
    pylog.addHandler(handler)
    std = ["level:INFO", f"logger:{pylog.name}"]
    cases: List[Any] = [
        (["__all__"], std),
        ([""], std),
        ([5], ["5", *std]),
        (
            ["flow:x", "ok", "a:counter", "msg:7", "msg:07", None, b"raw"],
            ["ok", "msg:07", "raw", *std],
        ),
        ("single", ["single", *std]),
    ]
    for given, tags in cases:
        pylog.info("m", extra={"tags": given})
        rec = logger.get_latest()
        assert rec is not None and rec.tags == tags, given
    assert errors == []
    assert logger.count() == len(cases)
    # The logger's own tag: a logger named 'counter' gives 'logger:counter', left out.
    named = logging.getLogger("counter")
    named.propagate = False
    named.addHandler(handler)
    try:
        named.warning("from counter")
    finally:
        named.removeHandler(handler)
    rec = logger.get_latest()
    assert rec is not None and str(rec) == "from counter" and rec.tags == ["level:WARNING"]


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


def test_queue_mode_close_is_bounded_when_redis_is_down(
    pylog: logging.Logger, monkeypatch: Any
) -> None:
    """A dead port, the client's default retries, a full queue: close() returns within
    flush_timeout, and every record not sent is either dropped (counted) or went to
    handleError."""
    from datetime import timedelta

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = tlog.LoggingHandler(
        prefix="app", port=port, attrs=False, queue_size=10, flush_timeout=timedelta(seconds=1)
    )
    errors: List[logging.LogRecord] = []
    monkeypatch.setattr(handler, "handleError", errors.append)
    pylog.addHandler(handler)
    for i in range(30):
        pylog.info("m%d", i)
    queued = 30 - handler.dropped
    assert 10 <= queued <= 11  # the queue, and perhaps the one the thread took
    pylog.removeHandler(handler)
    t0 = time.monotonic()
    handler.close()
    took = time.monotonic() - t0
    assert took < 1.5, took
    # What the thread was sending when close() returned ends in handleError later.
    deadline = time.monotonic() + 30
    while handler.dropped + len(errors) < 30 and time.monotonic() < deadline:
        time.sleep(0.01)
    assert handler.dropped + len(errors) == 30
    assert len(errors) <= queued  # those that reached a send (all of them, if sends fail fast)
    handler.handle(logging.makeLogRecord({"msg": "after close"}))  # dropped, not blocked
    assert handler.dropped + len(errors) == 31


def test_exit_waits_at_most_flush_timeout(pylog: logging.Logger, monkeypatch: Any) -> None:
    """logging.shutdown() calls flush() then close(): both together stay within
    flush_timeout (and a little) when nothing can be sent."""
    from datetime import timedelta

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    handler = tlog.LoggingHandler(
        prefix="app", port=port, attrs=False, queue_size=10, flush_timeout=timedelta(seconds=1)
    )
    monkeypatch.setattr(handler, "handleError", lambda r: None)
    pylog.addHandler(handler)
    for i in range(10):
        pylog.info("m%d", i)
    pylog.removeHandler(handler)
    t0 = time.monotonic()
    logging.shutdown([lambda: handler])  # type: ignore[list-item]
    assert time.monotonic() - t0 < 1.5


def test_handler_records_print_as_logged(logger: tlog.Logger, pylog: logging.Logger) -> None:
    """A message with braces, logged with the handler's attrs (line, ...), prints as the
    formatter made it: the handler's own attrs are not filled in again."""
    handler = tlog.LoggingHandler(logger)
    pylog.addHandler(handler)
    pylog.info("boom {line} {{a}} %s", "{module}")
    rec = logger.get_latest()
    assert rec is not None and rec.attrs["line"] > 0 and rec.attrs["formatted"] is True
    assert str(rec) == "boom {line} {{a}} {module}"


def test_the_refused_tags_are_those_the_server_refuses(logger: tlog.Logger) -> None:
    from tlog._core import names_a_key

    for tag in [
        "counter", "archive", "flow:x", "flow:", "msg:1", "msg:0", "msg:01", "msg:-1",
        "msg:9223372036854775807", "msg:9223372036854775808", "a:counter", "a:b:flow:c",
        "x:msg:5", "user:42", "counterx", "flow", "msg:", "a:archive:b", ":counter", "a:",
    ]:  # fmt: skip
        try:
            logger.log("t", [tag])
            refused = False
        except tlog.ServerError as e:
            assert "would name a key" in str(e)
            refused = True
        assert names_a_key(tag) == refused, tag
