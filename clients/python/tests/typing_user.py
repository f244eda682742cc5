"""A user program, type-checked with mypy --strict by scripts/python-client.sh (not run):
the types the client promises, as a program using it sees them."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta
from typing import List, Optional, Tuple

from typing_extensions import assert_type

import tlog
import tlog.asyncio as alog


def use_sync(lg: tlog.Logger) -> None:
    lg.log("user {user_id} logged in", ["auth"], user_id=1, ttl=timedelta(days=1))
    assert_type(lg.count(), int)
    assert_type(lg.count("auth", since=timedelta(hours=1)), int)
    buckets = lg.count("auth", since=timedelta(hours=1), bucket=timedelta(minutes=5))
    assert_type(buckets, List[Tuple[datetime, int]])
    for start, n in buckets:
        print(start.isoformat(), n + 1)
    rec = lg.get_latest("auth")
    assert_type(rec, Optional[tlog.Log])
    if rec is not None:
        assert_type(rec.id, Optional[int])
        assert_type(rec.tags, List[str])
        if rec.ts is not None:
            print(rec.ts.isoformat(), str(rec))
    for r in lg.iter("auth", page_size=10):
        assert_type(r, tlog.Log)
    for r in lg.follow("auth", after="$", timeout=timedelta(seconds=1)):
        assert_type(r, tlog.Log)
    for info in lg.tags(match="user:*"):
        print(info.tag, info.count + 1)
    assert_type(tlog.count(), int)
    assert_type(tlog.count(since=timedelta(hours=1), bucket=timedelta(minutes=1)),
                List[Tuple[datetime, int]])  # fmt: skip
    logging.getLogger("app").addHandler(tlog.LoggingHandler(lg, queue_size=1000))


async def use_async(lg: alog.Logger) -> None:
    assert_type(await lg.log("x"), int)
    assert_type(await lg.count(), int)
    hist = await lg.count(since=timedelta(hours=1), bucket=timedelta(minutes=5))
    assert_type(hist, List[Tuple[datetime, int]])
    assert_type(await alog.count(), int)
    assert_type(await alog.count(since=timedelta(hours=1), bucket=timedelta(minutes=1)),
                List[Tuple[datetime, int]])  # fmt: skip
    async for r in await lg.follow(after="$", timeout=timedelta(seconds=1)):
        assert_type(r, tlog.Log)
    async for r in lg.follow(after=0, timeout=timedelta(seconds=1)):
        if r.ts is not None:
            print(r.ts.isoformat())
