"""Records written by plain commands following the layout are read, and what the client
writes is readable by plain commands."""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

import tlog

SCRIPT = (
    'local p = KEYS[1] local id = redis.call("INCR", p .. ":counter") '
    'local t = redis.call("TIME") local tags = {} '
    "for i = 2, #ARGV do tags[#tags + 1] = cjson.encode(ARGV[i]) end "
    'redis.call("SET", p .. ":msg:" .. id, [[{"id":]] .. id .. [[,"ts":]] .. t[1] .. "." .. '
    'string.format("%06d", t[2]) .. [[,"message":]] .. cjson.encode(ARGV[1]) .. '
    '[[,"tags":[]] .. table.concat(tags, ",") .. "]}") '
    'redis.call("LPUSH", p .. ":flow:__all__", id) '
    'for i = 2, #ARGV do redis.call("LPUSH", p .. ":flow:" .. ARGV[i], id) end return id'
)


def write_by_hand(raw: Any, prefix: str, record: dict, tags: list) -> int:  # type: ignore[type-arg]
    rid = int(raw.incr(f"{prefix}:counter"))
    raw.set(f"{prefix}:msg:{rid}", json.dumps(dict(record, id=rid, tags=tags)))
    raw.lpush(f"{prefix}:flow:__all__", rid)
    for tag in tags:
        raw.lpush(f"{prefix}:flow:{tag}", rid)
    return rid


def test_reads_records_written_by_others(logger: tlog.Logger, raw: Any) -> None:
    p = logger.prefix
    write_by_hand(raw, p, {"ts": 1700000000, "message": "by hand"}, ["foo"])
    # The original library's records: float ts, attrs, expire.
    write_by_hand(
        raw, p,
        {"ts": 1700000001.5, "message": "{user_login} logged in",
         "attrs": {"user_login": "u1"}, "expire": None},
        ["foo", "user:1"],
    )  # fmt: skip
    write_by_hand(raw, p, {"ts": "2023-11-14T23:13:22+01:00", "message": {"a": 1}}, ["foo"])
    assert raw.eval(SCRIPT, 1, p, "by script", "foo") == 4
    lid = logger.log("by the client", ["foo"])
    recs = logger.get("foo")
    assert [r.id for r in recs] == [lid, 4, 3, 2, 1]
    assert str(recs[3]) == "u1 logged in" and recs[3].attrs == {"user_login": "u1"}
    assert recs[3].ts == datetime(2023, 11, 14, 22, 13, 21, 500000, tzinfo=timezone.utc)
    assert recs[2].message == {"a": 1}
    assert recs[2].ts == datetime(2023, 11, 14, 22, 13, 22, tzinfo=timezone.utc)
    assert recs[1].message == "by script" and recs[1].tags == ["foo"]
    assert recs[4].ts == datetime(2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc)


def test_a_record_without_valid_ts_or_json(logger: tlog.Logger, raw: Any) -> None:
    p = logger.prefix
    write_by_hand(raw, p, {"message": "no ts"}, [])
    raw.incr(f"{p}:counter")
    raw.set(f"{p}:msg:2", "plain text, not JSON")
    raw.lpush(f"{p}:flow:__all__", 2)
    recs = logger.get()
    assert [(r.id, r.ts, r.message) for r in recs] == [
        (None, None, "plain text, not JSON"),
        (1, None, "no ts"),
    ]


def test_what_the_client_writes_follows_the_layout(logger: tlog.Logger, raw: Any) -> None:
    p = logger.prefix
    logger.log("foo created", ["foo"])
    logger.log({"user": "foo"}, ["foo", "bar"])
    assert raw.get(f"{p}:counter") == "2"
    assert raw.lrange(f"{p}:flow:__all__", 0, -1) == ["2", "1"]
    assert raw.lrange(f"{p}:flow:bar", 0, -1) == ["2"]
    stored = json.loads(raw.get(f"{p}:msg:2"))
    assert list(stored) == ["id", "ts", "message", "tags"]
    assert stored["message"] == {"user": "foo"} and stored["tags"] == ["foo", "bar"]
    assert isinstance(stored["ts"], float)
