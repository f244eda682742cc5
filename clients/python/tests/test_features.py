"""Record times and attributes (TLOG.ADD TS and ATTRS), WHERE and MATCH on reads,
COUNT ... BUCKET, and the handler's attributes (which need ATTRS)."""

from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta, timezone
from typing import Any, List

import pytest

import tlog


def test_ts(logger: tlog.Logger) -> None:
    when = datetime.now(timezone.utc).replace(microsecond=123456) - timedelta(seconds=5)
    logger.log("dated", ts=when)
    rec = logger.get_latest()
    assert rec is not None and rec.ts == when
    with pytest.raises(tlog.ServerError) as err:  # before the newest record
        logger.log("too early", ts=when - timedelta(seconds=1))
    assert err.value.code == "ERR"
    with pytest.raises(tlog.ServerError):  # more than an hour ahead of the server's clock
        logger.log("too late", ts=datetime.now(timezone.utc) + timedelta(hours=2))


def test_attrs(logger: tlog.Logger) -> None:
    logger.log("{user_login} logged in", user_id=1, user_login="u1")
    rec = logger.get_latest()
    assert rec is not None
    assert rec.attrs == {"user_id": 1, "user_login": "u1"}
    assert str(rec) == "u1 logged in"


def test_where(logger: tlog.Logger) -> None:
    logger.log("a", attrs={"user": "ann", "n": 1})
    logger.log("b", attrs={"user": "bob", "n": 1})
    logger.log("c", attrs={"user": "ann", "n": 2})
    assert [str(r) for r in logger.get(where={"user": "ann"})] == ["c", "a"]
    assert [str(r) for r in logger.get(where={"user": "ann", "n": 1})] == ["a"]
    assert logger.count(where={"n": 1}) == 2
    rec = logger.get_latest(where={"user": "bob"})
    assert rec is not None and str(rec) == "b"


def test_match(logger: tlog.Logger) -> None:
    logger.log("disk full on db1", ["ops"])
    logger.log("backup done", ["ops"])
    logger.log("disk full on db2", ["ops"])
    assert [str(r) for r in logger.get("ops", match="disk full*")] == [
        "disk full on db2",
        "disk full on db1",
    ]
    assert logger.count("ops", match="*done") == 1


def test_count_buckets(logger: tlog.Logger) -> None:
    for i in range(3):
        logger.log(f"m{i}")
    now = datetime.now(timezone.utc)
    buckets = logger.count(
        since=now - timedelta(minutes=10), until=now, bucket=timedelta(minutes=5)
    )
    assert isinstance(buckets, list)
    assert sum(n for _, n in buckets) == 3
    for start, _ in buckets:
        assert start.tzinfo is not None and int(start.timestamp()) % 300 == 0
    assert [s for s, _ in buckets] == sorted(s for s, _ in buckets)


def test_handler_attrs(logger: tlog.Logger, prefix: str) -> None:
    log = logging.getLogger(f"attrs.{prefix}")
    log.propagate = False
    handler = tlog.LoggingHandler(logger)  # attrs=True: needs ATTRS
    log.addHandler(handler)
    errors: List[BaseException] = []
    handler.handleError = lambda record: errors.append(sys.exc_info()[1])  # type: ignore
    try:
        try:
            {}["k"]
        except KeyError:
            log.exception("lookup failed")
    finally:
        log.removeHandler(handler)
    if errors:
        raise errors[0]
    rec = logger.get_latest()
    assert rec is not None and str(rec) == "lookup failed"
    assert rec.attrs["level"] == "ERROR" and rec.attrs["logger"] == log.name
    assert rec.attrs["function"] == "test_handler_attrs" and rec.attrs["line"] > 0
    assert "KeyError: 'k'" in rec.attrs["exception"]
    assert {"module", "thread"} <= set(rec.attrs)


def test_where_compares_by_text_and_refuses_non_scalars(logger: tlog.Logger) -> None:
    """As the docs say: 1 and "1" are one filter; True matches "true", None "null"; a
    list or dict is refused before any round trip."""
    logger.log("num", attrs={"x": 1})
    logger.log("text", attrs={"x": "1"})
    logger.log("bool", attrs={"x": True, "y": "true"})
    logger.log("null", attrs={"x": None, "y": "null"})
    logger.log("list", attrs={"x": [1]})
    assert [str(r) for r in logger.get(where={"x": 1})] == ["text", "num"]
    assert [str(r) for r in logger.get(where={"x": "1"})] == ["text", "num"]
    assert [str(r) for r in logger.get(where={"y": True})] == ["bool"]
    assert [str(r) for r in logger.get(where={"y": None})] == ["null"]
    assert [str(r) for r in logger.get(where={"x": 1.0})] == ["num"]  # "1.0" is not "1"
    sent: List[Any] = []
    real = logger.client.execute_command
    logger.client.execute_command = lambda *a, **k: sent.append(a) or real(*a, **k)  # type: ignore
    for bad in ([1], {"a": 1}, (1,), b"1", object()):
        with pytest.raises(TypeError, match="where: the value of 'x' must be a str, int"):
            logger.get(where={"x": bad})
        with pytest.raises(TypeError, match="where: the value of 'x' must be"):
            logger.count(where={"x": bad})
    assert sent == []
