"""The synchronous client: ``tlog.Logger`` on a ``redis.Redis``."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any, Dict, Iterator, List, Mapping, Optional, Tuple, Union, overload

import redis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import ResponseError
from redis.exceptions import TimeoutError as RedisTimeoutError

from . import _core
from ._core import ALL, Call, Log, Op, Query, Sleep, TagInfo, TailFrom, TimeArg

# The keyword arguments of log() that are options; any other keyword is an attribute.
# ``expire`` is the original library's name of ``ttl``.
LOG_OPTIONS = frozenset({"ttl", "expire", "maxlen", "maxage", "approximate", "ts", "attrs"})


def split_log_options(options: Mapping[str, Any]) -> Tuple[Dict[str, Any], Dict[str, Any]]:
    """The options of log() and the attributes given as keywords (``user_id=1``)."""
    opts = {k: v for k, v in options.items() if k in LOG_OPTIONS}
    extra = {k: v for k, v in options.items() if k not in LOG_OPTIONS}
    if "expire" in opts:
        expire = opts.pop("expire")
        if opts.get("ttl") is not None and expire is not None:
            raise TypeError("give ttl or expire (its other name), not both")
        if expire is not None:
            opts["ttl"] = expire
    if extra:
        attrs = dict(opts.get("attrs") or {})
        attrs.update(extra)
        opts["attrs"] = attrs
    return opts, extra


def execute_once(client: Any, args: List[Any]) -> Any:
    """Sends a command once, on a connection taken from the client's pool, and reads its
    reply, without the client's retry policy. A connection error or timeout closes that
    connection and raises: the command may or may not have run. A client without a
    connection pool (``RedisCluster``) sends it with ``execute_command``, its retries
    included."""
    pool = getattr(client, "connection_pool", None)
    if pool is None or not hasattr(pool, "get_connection"):
        return client.execute_command(*args)
    conn = pool.get_connection(*_core.pool_args(pool, args))
    try:
        conn.send_command(*args)
        return conn.read_response()
    except ResponseError:
        raise
    except BaseException:
        conn.disconnect()
        raise
    finally:
        pool.release(conn)


def make_client(redis_kwargs: Mapping[str, Any]) -> "redis.Redis":
    kwargs = dict(redis_kwargs)
    client = kwargs.pop("client", None)
    url = kwargs.pop("url", None)
    if client is not None:
        if kwargs or url is not None:
            raise TypeError("give client alone, without other connection arguments")
        return client  # type: ignore[no-any-return]
    if url is not None:
        return redis.Redis.from_url(url, **kwargs)
    return redis.Redis(**kwargs)


class Logger:
    """One log (a prefix) on one Redis client.

    ``Logger(prefix, host=..., port=..., db=..., password=..., username=...)`` makes its own
    ``redis.Redis``; ``url='redis://...'`` uses ``redis.Redis.from_url``; ``client=`` takes
    an existing client. Any other keyword goes to ``redis.Redis``. ``prefix=None`` is the
    empty prefix (bare keys: ``counter``, ``msg:1``, ``flow:__all__``).
    """

    def __init__(self, prefix: Optional[str] = None, **redis_kwargs: Any) -> None:
        self.prefix = _core.check_prefix(prefix)
        self.client = make_client(redis_kwargs)

    def __repr__(self) -> str:
        return f"<tlog.Logger prefix={self.prefix!r} client={self.client!r}>"

    # -- running operations ------------------------------------------------------------

    def _drive(self, op: Op, result: Optional[List[Any]] = None) -> Iterator[Any]:
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
                        reply = execute_once(self.client, step.args)
                    else:
                        execute: Any = self.client.execute_command
                        reply = execute(*step.args)
                except ResponseError as exc:
                    error = _core.server_error(exc)
                except (RedisConnectionError, RedisTimeoutError) as exc:
                    error = exc
            elif isinstance(step, Sleep):
                time.sleep(step.seconds)
            else:
                yield step

    def _run(self, op: Op) -> Any:
        result: List[Any] = []
        for _ in self._drive(op, result):
            raise _core.TlogError("internal error: an operation gave records")
        return result[0]

    def execute(self, *args: Any) -> Any:
        """Sends one command; an error reply raises ServerError. It goes through the
        client's ``execute_command``, with the client's retries."""
        return self._run(_core.op_command(list(args)))

    def _write(self, *args: Any) -> Any:
        """Sends a write once, without retries (see ``execute_once``)."""
        return self._run(_core.op_command(list(args), once=True))

    # -- writing -----------------------------------------------------------------------

    def log(self, message: Any, tags: Optional[List[str]] = None, **options: Any) -> int:
        """Logs a record; returns its id.

        ``message`` is text (a str) or any JSON-able value. Options: ``ttl`` (seconds or a
        timedelta; ``expire`` is the same, the original library's name), ``maxlen``, ``maxage`` (seconds or a timedelta), ``approximate`` (the
        ``~`` forms of both), ``ts`` (the record's time), ``attrs`` (a dict). Any other
        keyword is an attribute: ``log('user {user_id} logged in', user_id=1)``.
        """
        opts, _ = split_log_options(options)
        return int(self._write(*_core.add_args(self.prefix, message, tags, **opts)))

    def delete(self, *ids: int) -> int:
        """Deletes records by id; returns how many were deleted."""
        return int(self._write(*_core.delete_args(self.prefix, ids)))

    def full_cleanup(self) -> int:
        """Removes every key of the log (TLOG.PURGE); returns how many were removed."""
        return int(self._write("TLOG.PURGE", self.prefix))

    purge = full_cleanup

    # -- reading -----------------------------------------------------------------------

    def get(
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
        page_size: int = 1000,
    ) -> List[Log]:
        """The records of a tag (every record by default), newest first: all of them, or
        the ``limit`` first. See ``iter`` for the options."""
        return list(
            self.iter(
                tag, limit=limit, order=order, before=before, after=after, since=since,
                until=until, and_=and_, or_=or_, not_=not_, where=where, match=match,
                scan_limit=scan_limit, min_ts=min_ts, max_ts=max_ts, page_size=page_size,
            )
        )  # fmt: skip

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
    ) -> Iterator[Log]:
        """Every record of a tag within the bounds, newest first (``order='asc'``: oldest
        first), read ``page_size`` at a time. Each page goes on from where the one before
        stopped, so records written meanwhile are never repeated nor skipped, and a call
        cut short by the server's scan limit is followed by the next.

        ``before``/``after``: ids; ``since``/``until``: datetimes (naive ones are UTC),
        timedeltas (that long ago), unix seconds or RFC 3339 text, both inclusive
        (``min_ts``/``max_ts`` are the original library's names); ``and_``/``or_``/``not_``:
        lists of tags; ``where``: attribute equality (a dict); ``match``: a glob against the
        message text; ``scan_limit``: the server's SCANLIMIT for each call.
        """
        q = Query(
            tag, and_=and_, or_=or_, not_=not_, before=before, after=after, since=since,
            until=until, where=where, match=match, order=order, scan_limit=scan_limit,
            min_ts=min_ts, max_ts=max_ts,
        )  # fmt: skip
        _core.check_page(limit, page_size)
        return self._drive(_core.op_get(self.prefix, q, limit, page_size))

    def get_latest(
        self,
        tag: str = ALL,
        *,
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
    ) -> Optional[Log]:
        """The newest record of a tag within the bounds, or None."""
        q = Query(
            tag, and_=and_, or_=or_, not_=not_, before=before, after=after, since=since,
            until=until, where=where, match=match, scan_limit=scan_limit, min_ts=min_ts,
            max_ts=max_ts,
        )  # fmt: skip
        result: Optional[Log] = self._run(_core.op_latest(self.prefix, q))
        return result

    @overload
    def count(self, tag: str = ..., *, bucket: None = ..., **filters: Any) -> int: ...

    @overload
    def count(
        self, tag: str = ..., *, bucket: timedelta, **filters: Any
    ) -> List[Tuple[datetime, int]]: ...

    def count(
        self, tag: str = ALL, *, bucket: Optional[timedelta] = None, **filters: Any
    ) -> Union[int, List[Tuple[datetime, int]]]:
        """The number of records of a tag within the bounds (the filters of ``get`` but
        ``limit`` and ``order``). With ``bucket=timedelta(...)`` (whole seconds) and
        ``since``: ``[(start, count), ...]``, oldest first, each start an aware datetime
        aligned to a multiple of the bucket."""
        q = _count_query(tag, filters)
        if bucket is not None:
            buckets: List[Tuple[datetime, int]] = self._run(
                _core.op_count_buckets(self.prefix, q, bucket)
            )
            return buckets
        return int(self._run(_core.op_count(self.prefix, q)))

    def tags(self, match: Optional[str] = None, count: Optional[int] = None) -> Iterator[TagInfo]:
        """The tags of the log (TLOG.TAGS), each once, with its count and newest record.
        ``match``: a glob on the tag; ``count``: the server's work per call."""
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
    ) -> Iterator[Log]:
        """Records as they are logged (TLOG.TAIL), oldest first, forever, or until no record
        came for ``timeout``. ``after``: None for every record from the first, ``'$'`` for
        those logged from now on (resolved to the newest id by this call, before it
        returns: a record logged before the first ``next()`` is not missed), or an id.

        Each call waits at most ``block``, and less than the client's ``socket_timeout``
        when it has one, so a wait never trips it; ``timeout`` holds whatever ``block`` is.
        A lost connection is retried from the last id seen (nothing is missed or
        repeated), with a growing pause (0.1 s doubling up to 2 s); after 10 failures in a
        row the last ``redis.ConnectionError`` is raised. A socket timeout is not such a
        failure: it counts as a wait that ended without a record."""
        q = Query(
            tag, and_=and_, or_=or_, not_=not_, where=where, match=match, scan_limit=scan_limit
        )
        _core.follow_params(after, block, count)  # checked now, not at the first record
        if after == "$":
            after = int(self._run(_core.op_tail_now(self.prefix, q)))
        return self._drive(
            _core.op_follow(
                self.prefix, q, after, block, count, timeout, time.monotonic,
                socket_timeout=_core.socket_timeout_of(self.client),
            )
        )  # fmt: skip


def _count_query(tag: str, filters: Mapping[str, Any]) -> Query:
    for name in ("limit", "order"):
        if name in filters:
            raise TypeError(f"count() takes no {name}")
    return Query(tag, **filters)
