"""The original tagged logger's own test scenarios, through `import tlog as logger`."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from typing import Any, Dict, Iterator

import pytest

import tlog as logger


@pytest.fixture(autouse=True)
def configured(conn: Dict[str, Any], prefix: str) -> Iterator[None]:
    logger.configure(prefix=prefix, **conn)
    logger.full_cleanup()
    yield
    logger.full_cleanup()


def test_full_cleanup() -> None:
    logger.log("foo")
    assert logger.full_cleanup() > 0
    assert logger.get() == []


def test_basic() -> None:
    logger.log("foo")
    logger.log("bar")
    records = logger.get()
    assert len(records) == 2
    # messages go in reverse time order
    assert str(records[0]) == "bar"
    assert str(records[1]) == "foo"


def test_objects() -> None:
    obj = {"foo": "bar"}
    logger.log(obj)
    record = logger.get_latest()
    assert record is not None
    assert record.message == obj


def test_tags() -> None:
    logger.log("random action")
    logger.log("foo created", tags=["foo"])
    logger.log("bar created", tags=["bar"])
    logger.log("foo gets bar", tags=["foo", "bar"])
    assert len(logger.get()) == 4
    assert len(logger.get(tag="foo")) == 2
    latest = logger.get_latest("bar")
    assert latest is not None and str(latest) == "foo gets bar"


def test_min_ts_max_ts_and_limit() -> None:
    logger.log("foo gets bar")
    # The original's README: a naive utcnow() is UTC.
    naive_utc = datetime.now(timezone.utc).replace(tzinfo=None)
    assert [str(r) for r in logger.get(min_ts=naive_utc - timedelta(seconds=60))] == [
        "foo gets bar"
    ]
    assert logger.get(max_ts=naive_utc - timedelta(seconds=60)) == []
    logger.log("again")
    assert [str(r) for r in logger.get(limit=1)] == ["again"]


def test_timestamps_are_utc_aware() -> None:
    logger.log("foo")
    rec = logger.get_latest()
    assert rec is not None and rec.ts is not None
    assert rec.ts.utcoffset() == timedelta(0)
    assert abs(datetime.now(timezone.utc) - rec.ts) < timedelta(minutes=1)


def test_not_configured() -> None:
    saved = logger._logger
    logger._logger = None
    try:
        with pytest.raises(RuntimeError, match="configure"):
            logger.get()
    finally:
        logger._logger = saved
