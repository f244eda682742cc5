"""Every option of today's server, through the client, in RESP2 and RESP3."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest

import tlog


def ids(records: Any) -> list:  # type: ignore[type-arg]
    return [r.id for r in records]


def test_log_and_read_every_kind_of_message(logger: tlog.Logger) -> None:
    assert logger.log("text", ["t"]) == 1
    assert logger.log({"user": "ann", "n": [1, 2.5]}, ["t"]) == 2
    assert logger.log("42", ["t"]) == 3
    assert logger.log(42, ["t"]) == 4
    assert logger.log("héllo \x00 ✓") == 5
    recs = logger.get()
    assert [r.message for r in recs] == [
        "héllo \x00 ✓",
        42,
        "42",
        {"user": "ann", "n": [1, 2.5]},
        "text",
    ]
    assert recs[0].prefix == logger.prefix
    assert recs[1].record == {"id": 4, "ts": recs[1].record["ts"], "message": 42, "tags": ["t"]}


def test_ttl_maxlen_maxage(logger: tlog.Logger, raw: Any) -> None:
    rid = logger.log("paid", ["orders"], ttl=timedelta(hours=1))
    assert 3590 <= raw.ttl(f"{logger.prefix}:msg:{rid}") <= 3600
    for i in range(5):
        logger.log(f"m{i}", maxlen=3)
    assert logger.count() == 3
    logger.log("last", maxlen=2, approximate=True)
    assert logger.count() == 2
    logger.log("aged", maxage=timedelta(days=1))
    assert logger.count() == 3


def test_limit_order_before_after(logger: tlog.Logger) -> None:
    for i in range(1, 8):
        logger.log(f"m{i}", ["odd"] if i % 2 else ["even"])
    assert ids(logger.get(limit=3)) == [7, 6, 5]
    assert ids(logger.get(limit=3, order="asc")) == [1, 2, 3]
    assert ids(logger.get(before=5, after=2)) == [4, 3]
    assert ids(logger.get("odd", order="ASC", after=3)) == [5, 7]
    assert logger.get(limit=0) == []
    assert ids(logger.get("nosuchtag")) == []


def test_since_until(logger: tlog.Logger) -> None:
    for i in range(4):
        logger.log(f"m{i}")
    recs = logger.get(order="asc")
    t1, t2 = recs[1].ts, recs[2].ts
    assert t1 is not None and t2 is not None
    assert ids(logger.get(since=t1, until=t2)) == [3, 2]
    assert ids(logger.get(since=t1.timestamp())) == [
        r.id for r in recs[::-1] if r.ts and r.ts >= t1
    ]
    assert ids(logger.get(since=t2.isoformat())) == [
        r.id for r in recs[::-1] if r.ts and r.ts >= t2
    ]
    assert ids(logger.get(since=timedelta(minutes=5))) == [4, 3, 2, 1]
    assert logger.get(until=timedelta(minutes=5)) == []
    assert logger.count(since=t1, until=t2) == 2
    latest = logger.get_latest(until=t1)
    assert latest is not None and latest.ts is not None and latest.ts <= t1


def test_tag_filters(logger: tlog.Logger) -> None:
    logger.log("foo created", ["foo"])
    logger.log("bar created", ["bar"])
    logger.log("foo gets bar", ["foo", "bar"])
    logger.log("baz", ["baz"])
    assert ids(logger.get("foo", and_=["bar"])) == [3]
    assert ids(logger.get("foo", not_=["bar"])) == [1]
    assert ids(logger.get(or_=["foo", "baz"])) == [4, 3, 1]
    assert logger.count("foo", not_=["bar"]) == 1
    rec = logger.get_latest("bar", not_=["foo"])
    assert rec is not None and rec.id == 2


def test_count_tags_delete(logger: tlog.Logger) -> None:
    logger.log("foo created", ["foo"])
    logger.log("bar created", ["bar"])
    logger.log("foo gets bar", ["foo", "bar"])
    assert logger.count() == 3 and logger.count("foo") == 2 and logger.count("bar", after=2) == 1
    tags = sorted(logger.tags(count=100))
    assert [(t.tag, t.count, t.newest_id) for t in tags] == [("bar", 2, 3), ("foo", 2, 3)]
    assert all(t.newest_ts is not None and t.newest_ts.tzinfo for t in tags)
    assert [t.tag for t in logger.tags(match="b*")] == ["bar"]
    assert logger.delete(1, 99) == 1
    assert logger.count("foo") == 1
    assert logger.get_latest("nosuchtag") is None


def test_many_tags_listed_across_cursors(logger: tlog.Logger) -> None:
    for i in range(60):
        logger.log("m", [f"tag{i}"])
    assert sorted(t.tag for t in logger.tags(count=5)) == sorted(f"tag{i}" for i in range(60))


def test_server_errors_carry_the_resp_code(logger: tlog.Logger, raw: Any) -> None:
    with pytest.raises(tlog.ServerError) as err:
        logger.log("x", ["flow:foo"])
    assert err.value.code == "ERR"
    assert str(err.value).startswith("ERR tag 'flow:foo' would name a key")
    raw.set(f"{logger.prefix}:flow:foo", "not a list")
    with pytest.raises(tlog.ServerError) as err:
        logger.log("x", ["foo"])
    assert err.value.code == "WRONGTYPE"
    with pytest.raises(tlog.ServerError) as err:
        logger.get("foo")
    assert err.value.code == "WRONGTYPE"
    assert logger.count() == 0  # nothing was written


def test_noperm(server: Any, logger: tlog.Logger, raw: Any, protocol: int) -> None:
    raw.execute_command("ACL", "SETUSER", "reader", "on", ">pw", "+@all", "%R~*")
    try:
        ro = tlog.Logger(
            logger.prefix, port=server.port, username="reader", password="pw", protocol=protocol
        )
        with pytest.raises(tlog.ServerError) as err:
            ro.log("x")
        assert err.value.code == "NOPERM"
        assert "no permissions to write" in err.value.message
    finally:
        raw.execute_command("ACL", "DELUSER", "reader")


def test_url_and_client_arguments(server: Any, prefix: str) -> None:
    a = tlog.Logger(prefix, url=f"redis://127.0.0.1:{server.port}/0")
    a.log("via url")
    b = tlog.Logger(prefix, client=server.client())
    assert [str(r) for r in b.get()] == ["via url"]
    with pytest.raises(TypeError):
        tlog.Logger(prefix, client=server.client(), port=1)


def test_empty_prefix_gives_bare_keys(server: Any, raw: Any) -> None:
    db = 3
    lg = tlog.Logger(None, port=server.port, db=db)
    lg.log("bare", ["foo"])
    r3 = server.client(db=db, decode_responses=True)
    assert sorted(r3.keys()) == ["counter", "flow:__all__", "flow:foo", "msg:1"]
    assert lg.full_cleanup() == 4


def test_expire_is_ttl(logger: tlog.Logger, raw: Any) -> None:
    """The original library's keyword: a TTL in seconds or a timedelta, not an attribute."""
    from datetime import timedelta

    a = logger.log("a", expire=60)
    b = logger.log("b", expire=timedelta(minutes=2))
    assert 0 < raw.ttl(f"{logger.prefix}:msg:{a}") <= 60
    assert 60 < raw.ttl(f"{logger.prefix}:msg:{b}") <= 120
    assert [r.attrs for r in logger.get()] == [{}, {}]
    with pytest.raises(TypeError, match="ttl or expire"):
        logger.log("c", ttl=1, expire=1)
    with pytest.raises(ValueError):
        logger.log("c", expire=0)
