"""tlog.asyncio: the same API on redis.asyncio."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any, Dict, List

import pytest

import tlog
import tlog.asyncio as alogger


def run(coro: Any) -> Any:
    return asyncio.run(coro)


def test_original_api_async(conn: Dict[str, Any], prefix: str) -> None:
    async def main() -> None:
        lg = alogger.configure(prefix=prefix, **conn)
        await alogger.log("foo created", tags=["foo"])
        await alogger.log("bar created", tags=["bar"])
        await alogger.log({"foo": "bar"}, tags=["foo", "bar"])
        assert [r.id for r in await alogger.get()] == [3, 2, 1]
        assert [str(r) for r in await alogger.get("foo")] == ["{'foo': 'bar'}", "foo created"]
        latest = await alogger.get_latest("bar")
        assert latest is not None and latest.message == {"foo": "bar"}
        assert await alogger.count("foo") == 2
        assert sorted([t.tag async for t in alogger.tags()]) == ["bar", "foo"]
        assert [r.id async for r in alogger.iter(order="asc", page_size=2)] == [1, 2, 3]
        assert await alogger.delete(1) == 1
        with pytest.raises(tlog.ServerError) as err:
            await alogger.log("x", ["flow:x"])
        assert err.value.code == "ERR"
        assert await alogger.full_cleanup() > 0
        await lg.aclose()

    run(main())


def test_follow_async_with_a_concurrent_writer(conn: Dict[str, Any], prefix: str) -> None:
    async def main() -> None:
        reader = alogger.Logger(prefix, **conn)
        writer = alogger.Logger(prefix, **conn)

        async def write() -> None:
            for i in range(100):
                await writer.log(f"m{i}", ["w"])

        task = asyncio.create_task(write())
        got: List[int] = []
        async for rec in reader.follow("w", block=timedelta(milliseconds=100), count=7):
            got.append(rec.id or 0)
            if len(got) == 100:
                break
        await task
        assert got == list(range(1, 101))
        assert [
            r.id async for r in reader.iter("w", not_=["x"], scan_limit=3, page_size=9)
        ] == list(range(100, 0, -1))
        await reader.aclose()
        await writer.aclose()

    run(main())


def test_follow_from_now_async(conn: Dict[str, Any], prefix: str) -> None:
    """``await logger.follow(after='$')`` resolves '$' when awaited; ``async for`` without
    the await resolves it at the first step."""

    async def main() -> None:
        lg = alogger.Logger(prefix, **conn)
        await lg.log("old", ["w"])
        opts: Dict[str, Any] = dict(
            after="$", block=timedelta(milliseconds=50), timeout=timedelta(milliseconds=300)
        )
        it = await lg.follow("w", **opts)
        await lg.log("new", ["w"])
        assert [str(r) async for r in it] == ["new"]
        lazy = lg.follow("w", **opts)
        await lg.log("before the first step", ["w"])
        assert [str(r) async for r in lazy] == []
        await lg.aclose()

    run(main())
