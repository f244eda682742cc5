"""tlog: the Python client of tlog, the tagged log store in Redis.

The original tagged logger's API::

    import tlog as logger

    logger.configure(prefix='my_tagged_logger')
    logger.log('foo created', tags=['foo'])
    logger.get('foo')          # [<Log@...: 'foo created'>]
    logger.get_latest('foo')   # <Log@...: 'foo created'>

``Logger`` holds a prefix and a client, for programs with several logs; the functions of this
module use the one ``configure`` made. ``tlog.asyncio`` has the same API on
``redis.asyncio``, and ``LoggingHandler`` writes the records of the ``logging`` module.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any, Iterator, List, Optional, Tuple, Union, overload

from ._core import ALL, Log, ServerError, TagInfo, TlogError
from ._sync import Logger
from .handler import LoggingHandler

__all__ = [
    "ALL",
    "Log",
    "Logger",
    "LoggingHandler",
    "ServerError",
    "TagInfo",
    "TlogError",
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

__version__ = "0.1.0"

_logger: Optional[Logger] = None


def configure(prefix: Optional[str] = None, **redis_kwargs: Any) -> Logger:
    """Sets the log the functions of this module use, and returns it: ``prefix`` and the
    connection (``host``, ``port``, ``db``, ``password``, ``username``, ``url``, any other
    argument of ``redis.Redis``, or ``client=`` an existing client)."""
    global _logger
    _logger = Logger(prefix, **redis_kwargs)
    return _logger


def get_logger() -> Logger:
    """The Logger that ``configure`` made."""
    if _logger is None:
        raise RuntimeError("tlog is not configured: call tlog.configure(prefix=...) first")
    return _logger


def log(message: Any, tags: Optional[List[str]] = None, **options: Any) -> int:
    """Logs a record (see ``Logger.log``); returns its id."""
    return get_logger().log(message, tags, **options)


def get(tag: str = ALL, **filters: Any) -> List[Log]:
    """The records of a tag, newest first (see ``Logger.get``)."""
    return get_logger().get(tag, **filters)


def get_latest(tag: str = ALL, **filters: Any) -> Optional[Log]:
    """The newest record of a tag, or None (see ``Logger.get_latest``)."""
    return get_logger().get_latest(tag, **filters)


def iter(tag: str = ALL, **filters: Any) -> Iterator[Log]:  # noqa: A001 (the API's name)
    """Every record of a tag, a page at a time (see ``Logger.iter``)."""
    return get_logger().iter(tag, **filters)


def follow(tag: str = ALL, **options: Any) -> Iterator[Log]:
    """Records as they are logged (see ``Logger.follow``)."""
    return get_logger().follow(tag, **options)


@overload
def count(tag: str = ..., *, bucket: None = ..., **filters: Any) -> int: ...


@overload
def count(tag: str = ..., *, bucket: timedelta, **filters: Any) -> List[Tuple[datetime, int]]: ...


def count(
    tag: str = ALL, *, bucket: Optional[timedelta] = None, **filters: Any
) -> Union[int, List[Tuple[datetime, int]]]:
    """The number of records of a tag, or with ``bucket`` a histogram (see
    ``Logger.count``)."""
    lg = get_logger()
    if bucket is None:
        n: int = lg.count(tag, **filters)
        return n
    return lg.count(tag, bucket=bucket, **filters)


def tags(match: Optional[str] = None, count: Optional[int] = None) -> Iterator[TagInfo]:
    """The tags of the log (see ``Logger.tags``)."""
    return get_logger().tags(match, count)


def delete(*ids: int) -> int:
    """Deletes records by id (see ``Logger.delete``)."""
    return get_logger().delete(*ids)


def full_cleanup() -> int:
    """Removes every key of the log (TLOG.PURGE)."""
    return get_logger().full_cleanup()
