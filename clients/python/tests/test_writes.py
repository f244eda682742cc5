"""Writes are sent once: a lost reply raises and is never retried into a second record."""

from __future__ import annotations

import asyncio
import threading
from typing import Any, Dict, Iterator

import pytest
import redis

import tlog
import tlog.asyncio as alogger

from conftest import Server


@pytest.fixture
def killer(server: Server) -> Iterator[threading.Event]:
    """Kills every other client's connection every 50 ms until the test ends."""
    stop = threading.Event()
    admin = server.client()

    def run() -> None:
        while not stop.wait(0.05):
            admin.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")

    t = threading.Thread(target=run, daemon=True)
    t.start()
    yield stop
    stop.set()
    t.join()
    admin.close()


def test_log_is_never_retried(
    conn: Dict[str, Any], prefix: str, server: Server, killer: threading.Event
) -> None:
    lg = tlog.Logger(prefix, **conn)
    returned = raised = 0
    for i in range(3000):
        try:
            lg.log(f"m{i}")
            returned += 1
        except (redis.ConnectionError, redis.TimeoutError):
            raised += 1
    killer.set()
    stored = tlog.Logger(prefix, port=server.port).count()
    assert returned <= stored <= returned + raised
    assert raised > 0  # the connection was lost, and more than once


def test_async_log_is_never_retried(
    conn: Dict[str, Any], prefix: str, server: Server, killer: threading.Event
) -> None:
    async def main() -> None:
        lg = alogger.Logger(prefix, **conn)
        returned = raised = 0
        for i in range(3000):
            try:
                await lg.log(f"m{i}")
                returned += 1
            except (redis.ConnectionError, redis.TimeoutError):
                raised += 1
        await lg.aclose()
        killer.set()
        stored = tlog.Logger(prefix, port=server.port).count()
        assert returned <= stored <= returned + raised
        assert raised > 0

    asyncio.run(main())
