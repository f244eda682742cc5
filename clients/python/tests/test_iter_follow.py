"""Paging and following: every record once, in order, with concurrent writers, across the
server's scan limit and across reconnects."""

from __future__ import annotations

import threading
import time
from datetime import timedelta
from typing import Any, Dict, List

import pytest

import tlog


def test_iter_pages_in_order(logger: tlog.Logger) -> None:
    for i in range(25):
        logger.log(f"m{i}", ["even" if i % 2 == 0 else "odd"])
    assert [r.id for r in logger.iter(page_size=4)] == list(range(25, 0, -1))
    assert [r.id for r in logger.iter(order="asc", page_size=7)] == list(range(1, 26))
    assert [r.id for r in logger.iter("odd", page_size=3, limit=5)] == [24, 22, 20, 18, 16]
    assert [r.id for r in logger.iter(page_size=10, before=20, after=10)] == list(range(19, 10, -1))


def test_scan_limit_continuations(logger: tlog.Logger) -> None:
    """NOT filters out 30 records in a row: with SCANLIMIT 4 each call stops early, and
    the client goes on from each cursor, so get, iter, get_latest and count see them all."""
    logger.log("wanted 1", ["keep"])
    for _ in range(30):
        logger.log("noise", ["noise"])
    logger.log("wanted 2", ["keep"])
    for _ in range(30):
        logger.log("noise", ["noise"])
    got = logger.get(not_=["noise"], scan_limit=4)
    assert [str(r) for r in got] == ["wanted 2", "wanted 1"]
    assert [str(r) for r in logger.get(not_=["noise"], scan_limit=4, limit=2)] == [
        "wanted 2",
        "wanted 1",
    ]
    assert [str(r) for r in logger.get(not_=["noise"], scan_limit=4, order="asc")] == [
        "wanted 1",
        "wanted 2",
    ]
    latest = logger.get_latest(not_=["noise"], scan_limit=4)
    assert latest is not None and str(latest) == "wanted 2"
    assert logger.count(not_=["noise"], scan_limit=4) == 2
    assert logger.get_latest(not_=["noise", "keep"], scan_limit=4) is None
    # Without the client, the server stops with an error on such a call.
    with pytest.raises(tlog.ServerError, match="ERR scan limit reached"):
        logger.execute("TLOG.GET", logger.prefix, "__all__", "NOT", 1, "noise", "SCANLIMIT", 4)


def writer(conn: Dict[str, Any], prefix: str, n: int, started: threading.Event) -> threading.Thread:
    def run() -> None:
        lg = tlog.Logger(prefix, **conn)
        started.set()
        for i in range(n):
            lg.log(f"w{i}", ["w"])

    t = threading.Thread(target=run)
    t.start()
    return t


def test_iter_under_a_concurrent_writer(logger: tlog.Logger, conn: Dict[str, Any]) -> None:
    for i in range(200):
        logger.log(f"old{i}", ["w"])
    started = threading.Event()
    t = writer(conn, logger.prefix, 300, started)
    started.wait(10)
    seen = [r.id for r in logger.iter("w", page_size=7)]
    t.join()
    # Newest first from the first page on: nothing repeated, nothing below it skipped.
    assert seen == sorted(set(seen), reverse=True)
    assert seen == list(range(seen[0], 0, -1))
    asc = [r.id for r in logger.iter("w", order="asc", page_size=9)]
    assert asc == list(range(1, 501))


def test_follow_under_a_concurrent_writer(logger: tlog.Logger, conn: Dict[str, Any]) -> None:
    logger.log("before", ["w"])
    started = threading.Event()
    t = writer(conn, logger.prefix, 300, started)
    got: List[int] = []
    for rec in logger.follow("w", block=timedelta(milliseconds=200), count=13):
        got.append(rec.id or 0)
        if len(got) == 301:
            break
    t.join()
    assert got == list(range(1, 302))


def test_follow_from_now_and_timeout(logger: tlog.Logger, conn: Dict[str, Any]) -> None:
    logger.log("old", ["w"])
    follower = logger.follow(
        "w", after="$", block=timedelta(milliseconds=100), timeout=timedelta(milliseconds=300)
    )
    result: List[str] = []
    done = threading.Event()

    def consume() -> None:
        result.extend(str(r) for r in follower)
        done.set()

    th = threading.Thread(target=consume)
    th.start()
    # '$' is resolved on the first call: wait until the follower is blocked in TLOG.TAIL.
    deadline = time.monotonic() + 10
    while int(logger.client.info("tlog").get("tlog_tail_readers", 0)) < 1:
        assert time.monotonic() < deadline
        time.sleep(0.005)
    logger.log("new", ["w"])
    th.join(20)
    assert done.is_set() and result == ["new"]
    assert [
        str(r)
        for r in logger.follow("w", after=1, timeout=timedelta(0), block=timedelta(milliseconds=10))
    ] == ["new"]


def test_follow_from_now_misses_nothing_between_waits(
    logger: tlog.Logger, conn: Dict[str, Any]
) -> None:
    """A record logged between a wait that timed out and the next wait is not skipped: '$'
    is resolved to an id once, and every wait goes on from an id."""
    logger.log("old", ["w"])
    writer = tlog.Logger(logger.prefix, **conn)
    injected: List[int] = []

    class Client:
        def execute_command(self, *args: Any) -> Any:
            reply = logger.client.execute_command(*args)
            if args[0] == "TLOG.TAIL" and reply is None and not injected:
                injected.append(writer.log("between", ["w"]))
            return reply

    follower = tlog.Logger(logger.prefix, client=Client())
    got = follower.follow(
        "w", after="$", block=timedelta(milliseconds=50), timeout=timedelta(milliseconds=500)
    )
    assert [str(r) for r in got] == ["between"]
    assert injected


def test_follow_across_reconnects(logger: tlog.Logger, raw: Any, conn: Dict[str, Any]) -> None:
    """The follower's connection is killed while it waits: it reconnects and goes on from
    the last id it saw (redis-py's own retries are off, so the client's are tested)."""
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    logger = tlog.Logger(logger.prefix, retry=Retry(NoBackoff(), 0), **conn)
    for i in range(3):
        logger.log(f"m{i}", ["w"])
    got: List[int] = []
    stop = threading.Event()

    def consume() -> None:
        for rec in logger.follow("w", block=timedelta(seconds=2)):
            got.append(rec.id or 0)
            if len(got) == 9:  # 3 before, then 3 after each of 2 kills
                stop.set()
                return

    th = threading.Thread(target=consume)
    th.start()
    for round_ in range(2):
        deadline = time.monotonic() + 10
        while not (
            len(got) == 3 * (round_ + 1) and int(raw.info("tlog")["tlog_tail_readers"]) == 1
        ):
            assert time.monotonic() < deadline, got
            time.sleep(0.005)
        raw.execute_command("CLIENT", "KILL", "TYPE", "normal", "SKIPME", "yes")
        for i in range(3):
            logger.log(f"r{round_}-{i}", ["w"])
    th.join(20)
    assert stop.is_set()
    assert got == list(range(1, 10))


def test_follow_from_now_is_resolved_at_the_call(logger: tlog.Logger) -> None:
    """'$' stands for the newest id when follow() is called: a record logged before the
    first next() is the first one yielded."""
    logger.log("old", ["w"])
    it = logger.follow(
        "w", after="$", block=timedelta(milliseconds=50), timeout=timedelta(milliseconds=300)
    )
    logger.log("new", ["w"])
    assert [str(r) for r in it] == ["new"]
    # On an empty flow '$' is 0: everything logged after the call comes.
    it = logger.follow(
        "empty", after="$", block=timedelta(milliseconds=50), timeout=timedelta(milliseconds=300)
    )
    logger.log("first", ["empty"])
    assert [str(r) for r in it] == ["first"]


def test_follow_timeout_holds_beside_a_short_socket_timeout(
    conn: Dict[str, Any], prefix: str
) -> None:
    """block (2 s) longer than the client's socket_timeout (0.5 s): each wait stays below
    the socket timeout, and the follower ends when timeout (3 s) has passed idle."""
    lg = tlog.Logger(prefix, socket_timeout=0.5, **conn)
    lg.log("old", ["w"])
    t0 = time.monotonic()
    got = [
        str(r)
        for r in lg.follow("w", block=timedelta(seconds=2), timeout=timedelta(seconds=3))
    ]
    took = time.monotonic() - t0
    assert got == ["old"]
    assert 2.9 <= took < 4.0, took
    lg.client.close()
