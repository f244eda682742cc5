"""Log records from stored text: no server needed."""

from __future__ import annotations

from datetime import datetime, timezone

from tlog import Log


def test_repr_as_the_original() -> None:
    rec = Log.from_stored(
        '{"id":3,"ts":1795429502.123456,"message":"foo gets bar","tags":["foo","bar"]}', "myapp"
    )
    assert repr(rec) == "<Log@2026-11-23 10:25:02.123456+00:00: 'foo gets bar'>"
    assert rec.id == 3 and rec.tags == ["foo", "bar"] and rec.attrs == {}
    assert rec.ts == datetime(2026, 11, 23, 10, 25, 2, 123456, tzinfo=timezone.utc)
    assert rec.record["message"] == "foo gets bar"


def test_json_message_is_never_text() -> None:
    text = Log.from_stored('{"id":1,"ts":1,"message":"42","tags":[]}')
    number = Log.from_stored('{"id":2,"ts":1,"message":42,"tags":[]}')
    assert text.message == "42" and number.message == 42
    obj = Log.from_stored('{"id":3,"ts":1,"message":{"a":[1,2.5]},"tags":[]}')
    assert obj.message == {"a": [1, 2.5]}
    assert str(number) == "42"


def test_str_fills_fields_from_attrs() -> None:
    rec = Log.from_stored(
        '{"id":1,"ts":1,"message":"{user} logged in {missing} {","attrs":{"user":"ann"}}'
    )
    assert str(rec) == "ann logged in {missing} {"  # a lone brace is left as it is
    rec = Log.from_stored(
        '{"id":1,"ts":1,"message":"{user} logged in {missing}","attrs":{"user":"ann"}}'
    )
    assert str(rec) == "ann logged in {missing}"
    assert rec.attrs == {"user": "ann"}


def test_times_from_other_writers() -> None:
    assert Log.from_stored('{"id":1,"ts":1700000000}').ts == datetime(
        2023, 11, 14, 22, 13, 20, tzinfo=timezone.utc
    )
    rfc = Log.from_stored('{"id":1,"ts":"2026-11-23T11:25:02.5+01:00"}').ts
    assert rfc == datetime(2026, 11, 23, 10, 25, 2, 500000, tzinfo=timezone.utc)
    assert Log.from_stored('{"id":1,"ts":"2026-11-23T10:25:02Z"}').ts is not None
    for bad in ['"yesterday"', '"2026-11-23T10:25:02"', "true", "null", "1e300", "[1]"]:
        assert Log.from_stored('{"id":1,"ts":%s}' % bad).ts is None, bad


def test_tolerant_decoding() -> None:
    rec = Log.from_stored(b"not json \xff")
    assert rec.id is None and rec.ts is None and rec.tags == []
    assert rec.message == "not json \ufffd"
    rec = Log.from_stored('{"id":"7","tags":["a","",1,"__all__","b"],"attrs":[1]}')
    assert rec.id is None and rec.tags == ["a", "b"] and rec.attrs == {}
    assert rec.message is None


def test_equality_and_hash_by_prefix_and_id() -> None:
    a = Log.from_stored('{"id":1,"ts":1,"message":"x"}', "p")
    b = Log.from_stored('{"id":1,"ts":2,"message":"y"}', "p")
    c = Log.from_stored('{"id":1,"ts":1,"message":"x"}', "q")
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert len({a, b, c}) == 2


def rec_with(message: str, attrs: object) -> Log:
    import json

    return Log.from_stored(json.dumps({"id": 1, "ts": 1, "message": message, "attrs": attrs}))


def test_str_fills_only_plain_names() -> None:
    """Only ``{name}`` with a name of attrs is filled; every other brace stays as stored,
    with or without attrs."""
    import time

    a = {"a": 1, "b": "x"}
    assert str(rec_with("{a} and {b}", a)) == "1 and x"
    assert str(rec_with("{{a}}", a)) == "{{a}}"
    assert str(rec_with("{{a}}", {})) == "{{a}}"
    assert str(rec_with("{a!r} {a:>5} {a.real} {a[0]} {} {0} {c}", a)) == (
        "{a!r} {a:>5} {a.real} {a[0]} {} {0} {c}"
    )
    t0 = time.monotonic()
    assert str(rec_with("{a:>300000000}", a)) == "{a:>300000000}"
    assert time.monotonic() - t0 < 0.1


def test_str_of_a_formatted_record_is_its_message() -> None:
    """The handler's records are marked ``formatted``: the text logging made is shown as
    it is, though attrs has ``line``."""
    assert str(rec_with("boom {line}", {"line": 8, "formatted": True})) == "boom {line}"
    assert str(rec_with("boom {line}", {"line": 8})) == "boom 8"


def test_records_without_an_id_equal_only_themselves() -> None:
    a = Log.from_stored("plain text, no id", "p")
    b = Log.from_stored("plain text, no id", "p")
    c = Log.from_stored('{"ts":1,"message":"no id"}', "p")
    assert a == a and a != b and a != c and b != c
    assert len({a, b, c}) == 3
    assert a != Log.from_stored('{"id":1,"ts":1,"message":"x"}', "p")
