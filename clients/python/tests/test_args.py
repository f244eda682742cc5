"""The commands that keyword arguments produce, and arguments refused before any round trip.
No server needed."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, List

import pytest

from tlog import _core
from tlog._core import Query, add_args, count_bucket_args
from tlog._sync import split_log_options

T0 = datetime(2026, 11, 23, 10, 25, 2, 123456, tzinfo=timezone.utc)


def log_args(message: Any, tags: Any = None, **options: Any) -> List[Any]:
    opts, _ = split_log_options(options)
    return add_args("app", message, tags, **opts)


def test_text_and_json_messages() -> None:
    assert log_args("hi", ["a", "b"]) == ["TLOG.ADD", "app", "MESSAGE", "hi", "a", "b"]
    assert log_args({"x": 1}) == ["TLOG.ADD", "app", "JSON", "MESSAGE", '{"x":1}']
    assert log_args(42) == ["TLOG.ADD", "app", "JSON", "MESSAGE", "42"]
    assert log_args(None) == ["TLOG.ADD", "app", "JSON", "MESSAGE", "null"]
    assert log_args("MESSAGE", ["TTL"]) == ["TLOG.ADD", "app", "MESSAGE", "MESSAGE", "TTL"]


def test_write_options() -> None:
    args = log_args("m", ttl=timedelta(hours=1), maxlen=100, maxage=60, approximate=True)
    assert args == [
        "TLOG.ADD", "app", "TTL", 3600, "MAXLEN", "~", 100, "MAXAGE", "~", 60, "MESSAGE", "m",
    ]  # fmt: skip
    assert log_args("m", maxlen=5) == ["TLOG.ADD", "app", "MAXLEN", 5, "MESSAGE", "m"]


def test_ts_and_attrs() -> None:
    assert log_args("m", ts=T0) == ["TLOG.ADD", "app", "TS", "1795429502.123456", "MESSAGE", "m"]
    naive = T0.replace(tzinfo=None)
    assert log_args("m", ts=naive)[3] == "1795429502.123456"
    assert log_args("m", ts=1795429502.5)[3] == "1795429502.500000"
    assert log_args("m", attrs={"a": 1}) == ["TLOG.ADD", "app", "ATTRS", '{"a":1}', "MESSAGE", "m"]
    # Keywords that are not options are attributes, as in the later Python library.
    args = log_args("user logged in", attrs={"a": 1}, user_id=1, user_login="u1")
    assert args[2:4] == ["ATTRS", '{"a":1,"user_id":1,"user_login":"u1"}']


def test_read_options() -> None:
    q = Query(
        "foo", and_=["a"], or_=["b", "c"], not_=["d"], where={"user": "ann", "n": 1},
        match="*err*", before=100, after=5, since=T0, until="2026-11-24T00:00:00Z",
        order="asc", scan_limit=0,
    )  # fmt: skip
    assert q.args("TLOG.GET", "app", limit=10, order=True) == [
        "TLOG.GET", "app", "foo", "AND", 1, "a", "OR", 2, "b", "c", "NOT", 1, "d",
        "WHERE", 2, "user", "ann", "n", "1", "MATCH", "*err*", "LIMIT", 10, "ASC",
        "BEFORE", 100, "AFTER", 5, "SINCE", "1795429502.123456",
        "UNTIL", "2026-11-24T00:00:00Z", "SCANLIMIT", 0,
    ]  # fmt: skip


def test_timedelta_means_that_long_ago() -> None:
    q = Query(since=timedelta(minutes=5))
    assert q.since is not None
    ago = datetime.now(timezone.utc) - timedelta(minutes=5)
    assert abs(float(q.since) - ago.timestamp()) < 5


def test_count_bucket() -> None:
    q = Query("foo", where={"k": "v"}, match="a*", since=T0, until=T0 + timedelta(hours=1))
    assert count_bucket_args("app", q, timedelta(minutes=5)) == [
        "TLOG.COUNT", "app", "foo", "WHERE", 1, "k", "v", "MATCH", "a*",
        "SINCE", "1795429502.123456", "UNTIL", "1795433102.123456", "BUCKET", 300, "WITHCURSOR",
    ]  # fmt: skip
    # Without until, until is now: the server needs both.
    args = count_bucket_args("app", Query("foo", since=T0), timedelta(minutes=5), before=9)
    assert args[3:7] == ["BEFORE", 9, "SINCE", "1795429502.123456"] and args[7] == "UNTIL"
    assert abs(float(args[8]) - datetime.now(timezone.utc).timestamp()) < 5
    with pytest.raises(ValueError, match="since"):
        count_bucket_args("app", Query("foo"), timedelta(minutes=5))
    with pytest.raises(ValueError, match="whole number of seconds"):
        count_bucket_args("app", q, timedelta(seconds=1.5))


@pytest.mark.parametrize(
    "call, error, text",
    [
        (lambda: log_args("m", "foo"), TypeError, "list of tags"),
        (lambda: log_args("m", [""]), ValueError, "must not be empty"),
        (lambda: log_args("m", ["__all__"]), ValueError, "reserved"),
        (lambda: log_args("m", ["t"] * 1025), ValueError, "at most 1024"),
        (lambda: log_args(float("nan")), TypeError, "JSON-able"),
        (lambda: log_args(object()), TypeError, "JSON-able"),
        (lambda: log_args("m", ttl=0), ValueError, "ttl must be from 1"),
        (lambda: log_args("m", ttl=1.5), TypeError, "ttl must be an int"),
        (lambda: log_args("m", maxlen=0), ValueError, "maxlen"),
        (lambda: log_args("m", maxage=timedelta(seconds=0.5)), ValueError, "whole"),
        (lambda: log_args("m", approximate=True), ValueError, "maxlen or maxage"),
        (lambda: log_args("m", ts=timedelta(1)), TypeError, "ts must be"),
        (lambda: log_args(b"\xff"), ValueError, "UTF-8"),
        (lambda: Query(before=0), ValueError, "before must be"),
        (lambda: Query(after=-1), ValueError, "after must be"),
        (lambda: Query(before=5, after=5), ValueError, "must be below"),
        (lambda: Query(since=T0, until=T0 - timedelta(1)), ValueError, "since must not"),
        (lambda: Query(since="x", min_ts="y"), ValueError, "not both"),
        (lambda: Query(order="up"), ValueError, "order"),
        (lambda: Query(and_=[]), ValueError, "at least one"),
        (lambda: Query(""), ValueError, "tag must not be empty"),
        (lambda: Query(since=object()), TypeError, "since must be"),
        (lambda: Query(where=[("a", 1)]), TypeError, "where must be a dict"),
        (lambda: Query(where={f"f{i}": i for i in range(65)}), ValueError, "at most 64"),
        (lambda: _core.delete_args("app", []), ValueError, "at least one"),
        (lambda: _core.delete_args("app", [0]), ValueError, "each id"),
        (lambda: _core.tail_start("now"), TypeError, "after must be an int"),
    ],
)
def test_refused_before_any_round_trip(call: Any, error: type, text: str) -> None:
    with pytest.raises(error, match=text):
        call()


def test_server_error_codes() -> None:
    from redis.exceptions import NoPermissionError, ResponseError

    e = _core.server_error(ResponseError("WRONGTYPE Operation against a key"))
    assert (e.code, e.message) == ("WRONGTYPE", "Operation against a key")
    e = _core.server_error(ResponseError("AFTER must be below BEFORE"))  # redis-py strips ERR
    assert (e.code, str(e)) == ("ERR", "ERR AFTER must be below BEFORE")
    e = _core.server_error(NoPermissionError("this user has no permissions"))
    assert str(e) == "NOPERM this user has no permissions"
    assert isinstance(e, ResponseError)


def test_iter_and_follow_check_their_arguments_when_called(logger: Any) -> None:
    with pytest.raises(ValueError, match="page_size"):
        logger.iter(page_size=0)
    with pytest.raises(ValueError, match="limit"):
        logger.get(limit=-1)
    with pytest.raises(ValueError, match="block"):
        logger.follow(block=timedelta(0))
    with pytest.raises(TypeError, match="block must be a timedelta"):
        logger.follow(block=5)
    with pytest.raises(ValueError, match="count"):
        logger.follow(count=0)
