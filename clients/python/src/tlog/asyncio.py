"""The same API on ``redis.asyncio``: ``await logger.log(...)``, ``async for rec in
logger.iter(...)``. Every method sends the same commands as its ``tlog.Logger`` twin."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timedelta
from typing import (
    Any,
    AsyncIterator,
    Generator,
    List,
    Mapping,
    Optional,
    Tuple,
    Union,
    overload,
)

import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import _core
from ._core import ALL, Call, Log, Op, Query, Sleep, TagInfo, TailFrom, TimeArg
from ._sync import _count_query, split_log_options

__all__ = [
    "Follow",
    "Logger",
    "configure",
    "count",
    "delete",
    "follow",
    "full_cleanup",
    "get",
    "get_latest",
    "get_logger",
    "iter",
    "log",
    "tags",
]


def _make_client(redis_kwargs: Mapping[str, Any]) -> "aioredis.Redis":
    kwargs = dict(redis_kwargs)
    client = kwargs.pop("client", None)
    url = kwargs.pop("url", None)
    if client is not None:
        if kwargs or url is not None:
            raise TypeError("give client alone, without other connection arguments")
        return client  # type: ignore[no-any-return]
    if url is not None:
        return aioredis.Redis.from_url(url, **kwargs)
    return aioredis.Redis(**kwargs)


async def execute_once(client: Any, args: List[Any]) -> Any:
    """``tlog._sync.execute_once`` on ``redis.asyncio``."""
    pool = getattr(client, "connection_pool", None)
    if pool is None or not hasattr(pool, "get_connection"):
        return await client.execute_command(*args)
    conn = await pool.get_connection(*_core.pool_args(pool, args))
    try:
        await conn.send_command(*args)
        return await conn.read_response()
    except ResponseError:
        raise
    except BaseException:
        await conn.disconnect()
        raise
    finally:
        await pool.release(conn)


class Logger:
    """``tlog.Logger`` on ``redis.asyncio.Redis``: the same arguments, awaitable methods,
    and async iterators for ``iter``, ``tags`` and ``follow``."""

    def __init__(self, prefix: Optional[str] = None, **redis_kwargs: Any) -> None:
        self.prefix = _core.check_prefix(prefix)
        self.client = _make_client(redis_kwargs)

    def __repr__(self) -> str:
        return f"<tlog.asyncio.Logger prefix={self.prefix!r} client={self.client!r}>"

    async def aclose(self) -> None:
        """Closes the client's connections."""
        close = getattr(self.client, "aclose", None) or self.client.close
        await close()

    async def _drive(self, op: Op, result: Optional[List[Any]] = None) -> AsyncIterator[Any]:
        reply: Any = None
        error: Optional[BaseException] = None
        while True:
            try:
                step = op.send(reply) if error is None else op.throw(error)
            except StopIteration as stop:
                if result is not None:
                    result.append(stop.value)
                return
            reply, error = None, None
            if isinstance(step, Call):
                try:
                    if step.once:
                        reply = await execute_once(self.client, step.args)
                    else:
                        execute: Any = self.client.execute_command
                        reply = await execute(*step.args)
                except ResponseError as exc:
                    error = _core.server_error(exc)
                except (RedisConnectionError, RedisTimeoutError) as exc:
                    error = exc
            elif isinstance(step, Sleep):
                await asyncio.sleep(step.seconds)
            else:
                yield step

    async def _run(self, op: Op) -> Any:
        result: List[Any] = []
        async for _ in self._drive(op, result):
            raise _core.TlogError("internal error: an operation gave records")
        return result[0]

    async def execute(self, *args: Any) -> Any:
        """Sends one command; an error reply raises ServerError."""
        return await self._run(_core.op_command(list(args)))

    async def _write(self, *args: Any) -> Any:
        """Sends a write once, without retries (see ``tlog._sync.execute_once``)."""
        return await self._run(_core.op_command(list(args), once=True))

    async def log(self, message: Any, tags: Optional[List[str]] = None, **options: Any) -> int:
        """See ``tlog.Logger.log``."""
        opts, _ = split_log_options(options)
        return int(await self._write(*_core.add_args(self.prefix, message, tags, **opts)))

    async def delete(self, *ids: int) -> int:
        return int(await self._write(*_core.delete_args(self.prefix, ids)))

    async def full_cleanup(self) -> int:
        return int(await self._write("TLOG.PURGE", self.prefix))

    purge = full_cleanup

    async def get(self, tag: str = ALL, **filters: Any) -> List[Log]:
        """See ``tlog.Logger.get``."""
        filters.setdefault("page_size", 1000)
        return [rec async for rec in self.iter(tag, **filters)]

    def iter(
        self,
        tag: str = ALL,
        *,
        limit: Optional[int] = None,
        order: str = "desc",
        before: Optional[int] = None,
        after: Optional[int] = None,
        since: Optional[TimeArg] = None,
        until: Optional[TimeArg] = None,
        and_: Optional[List[str]] = None,
        or_: Optional[List[str]] = None,
        not_: Optional[List[str]] = None,
        where: Optional[Mapping[str, Any]] = None,
        match: Optional[str] = None,
        scan_limit: Optional[int] = None,
        min_ts: Optional[TimeArg] = None,
        max_ts: Optional[TimeArg] = None,
        page_size: int = 100,
    ) -> AsyncIterator[Log]:
        """See ``tlog.Logger.iter``."""
        q = Query(
            tag, and_=and_, or_=or_, not_=not_, before=before, after=after, since=since,
            until=until, where=where, match=match, order=order, scan_limit=scan_limit,
            min_ts=min_ts, max_ts=max_ts,
        )  # fmt: skip
        _core.check_page(limit, page_size)
        return self._drive(_core.op_get(self.prefix, q, limit, page_size))

    async def get_latest(self, tag: str = ALL, **filters: Any) -> Optional[Log]:
        """See ``tlog.Logger.get_latest``."""
        for name in ("limit", "order", "page_size"):
            if name in filters:
                raise TypeError(f"get_latest() takes no {name}")
        result: Optional[Log] = await self._run(_core.op_latest(self.prefix, Query(tag, **filters)))
        return result

    @overload
    async def count(self, tag: str = ..., *, bucket: None = ..., **filters: Any) -> int: ...

    @overload
    async def count(
        self, tag: str = ..., *, bucket: timedelta, **filters: Any
    ) -> List[Tuple[datetime, int]]: ...

    async def count(
        self, tag: str = ALL, *, bucket: Optional[timedelta] = None, **filters: Any
    ) -> Union[int, List[Tuple[datetime, int]]]:
        """See ``tlog.Logger.count``."""
        q = _count_query(tag, filters)
        if bucket is not None:
            buckets: List[Tuple[datetime, int]] = await self._run(
                _core.op_count_buckets(self.prefix, q, bucket)
            )
            return buckets
        return int(await self._run(_core.op_count(self.prefix, q)))

    def tags(
        self, match: Optional[str] = None, count: Optional[int] = None
    ) -> AsyncIterator[TagInfo]:
        """See ``tlog.Logger.tags``."""
        return self._drive(_core.op_tags(self.prefix, match, count))

    def follow(
        self,
        tag: str = ALL,
        *,
        after: TailFrom = None,
        block: timedelta = timedelta(seconds=5),
        count: Optional[int] = None,
        timeout: Optional[timedelta] = None,
        and_: Optional[List[str]] = None,
        or_: Optional[List[str]] = None,
        not_: Optional[List[str]] = None,
        where: Optional[Mapping[str, Any]] = None,
        match: Optional[str] = None,
        scan_limit: Optional[int] = None,
    ) -> "Follow":
        """See ``tlog.Logger.follow``, with one difference for ``after='$'``, which needs a
        round trip: ``await logger.follow(after='$')`` resolves it when awaited (to the
        newest id) and returns the iterator; ``async for rec in logger.follow(after='$')``
        resolves it at the first ``__anext__``, so a record logged between the call and the
        first step is not seen."""
        q = Query(
            tag, and_=and_, or_=or_, not_=not_, where=where, match=match, scan_limit=scan_limit
        )
        _core.follow_params(after, block, count)  # checked now, not at the first record

        def make(start: TailFrom) -> Op:
            return _core.op_follow(
                self.prefix, q, start, block, count, timeout, time.monotonic,
                socket_timeout=_core.socket_timeout_of(self.client),
            )  # fmt: skip

        return Follow(self, q, after, make)


class Follow(AsyncIterator[Log]):
    """The async iterator of ``Logger.follow``. Awaiting it resolves ``after='$'`` to the
    newest id now and returns it, ready to iterate; iterating it without awaiting resolves
    ``'$'`` at the first step."""

    def __init__(self, logger: Logger, q: Query, after: TailFrom, make: Any) -> None:
        self._logger = logger
        self._q = q
        self._after = after
        self._make = make
        self._it: Optional[AsyncIterator[Log]] = None

    async def start(self) -> "Follow":
        """Resolves ``'$'`` (once) and returns the iterator."""
        if self._it is None:
            after = self._after
            if after == "$":
                now = _core.op_tail_now(self._logger.prefix, self._q)
                after = int(await self._logger._run(now))
            self._it = self._logger._drive(self._make(after))
        return self

    def __await__(self) -> Generator[Any, None, "Follow"]:
        return self.start().__await__()

    def __aiter__(self) -> "Follow":
        return self

    async def __anext__(self) -> Log:
        if self._it is None:
            await self.start()
        assert self._it is not None
        return await self._it.__anext__()

    async def aclose(self) -> None:
        close = getattr(self._it, "aclose", None)
        if close is not None:
            await close()


_logger: Optional[Logger] = None


def configure(prefix: Optional[str] = None, **redis_kwargs: Any) -> Logger:
    """As ``tlog.configure``, for the functions of this module."""
    global _logger
    _logger = Logger(prefix, **redis_kwargs)
    return _logger


def get_logger() -> Logger:
    if _logger is None:
        raise RuntimeError("tlog.asyncio is not configured: call tlog.asyncio.configure() first")
    return _logger


async def log(message: Any, tags: Optional[List[str]] = None, **options: Any) -> int:
    return await get_logger().log(message, tags, **options)


async def get(tag: str = ALL, **filters: Any) -> List[Log]:
    return await get_logger().get(tag, **filters)


async def get_latest(tag: str = ALL, **filters: Any) -> Optional[Log]:
    return await get_logger().get_latest(tag, **filters)


def iter(tag: str = ALL, **filters: Any) -> AsyncIterator[Log]:  # noqa: A001
    return get_logger().iter(tag, **filters)


def follow(tag: str = ALL, **options: Any) -> Follow:
    return get_logger().follow(tag, **options)


@overload
async def count(tag: str = ..., *, bucket: None = ..., **filters: Any) -> int: ...


@overload
async def count(
    tag: str = ..., *, bucket: timedelta, **filters: Any
) -> List[Tuple[datetime, int]]: ...


async def count(
    tag: str = ALL, *, bucket: Optional[timedelta] = None, **filters: Any
) -> Union[int, List[Tuple[datetime, int]]]:
    """The number of records of a tag, or a histogram with ``bucket``."""
    lg = get_logger()
    if bucket is None:
        n: int = await lg.count(tag, **filters)
        return n
    return await lg.count(tag, bucket=bucket, **filters)


def tags(match: Optional[str] = None, count: Optional[int] = None) -> AsyncIterator[TagInfo]:
    return get_logger().tags(match, count)


async def delete(*ids: int) -> int:
    return await get_logger().delete(*ids)


async def full_cleanup() -> int:
    return await get_logger().full_cleanup()
