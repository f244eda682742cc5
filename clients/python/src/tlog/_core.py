"""The parts of the client that do no I/O: records, arguments, replies, and each operation as
a generator that yields the commands it needs and gets their replies back.

The synchronous client (``tlog.Logger``) and the asyncio one (``tlog.asyncio.Logger``) run
the same generators, so both send the same commands and read replies the same way.
"""

from __future__ import annotations

import json
import math
import re
import string
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import (
    Any,
    Dict,
    Generator,
    Iterable,
    List,
    Mapping,
    NamedTuple,
    Optional,
    Sequence,
    Tuple,
    Union,
)

from redis.exceptions import ResponseError

__all__ = [
    "ALL",
    "Log",
    "TagInfo",
    "TlogError",
    "ServerError",
]

ALL = "__all__"
MAX_TAGS = 1024
UTC = timezone.utc
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

TimeArg = Union[datetime, timedelta, int, float, str]
Id = int
TailFrom = Union[int, str, None]


class TlogError(Exception):
    """Base class of the errors this package raises itself."""


class ServerError(TlogError, ResponseError):
    """An error reply of the server. ``code`` is its RESP code (``ERR``, ``WRONGTYPE``,
    ``NOPERM``, ...), ``message`` the text after it; ``str()`` gives both, as the server sent
    them. It is a ``redis.exceptions.ResponseError``, so code that catches those still works.
    """

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code} {message}")
        self.code = code
        self.message = message


# Error codes that redis-py leaves at the start of a ResponseError's text (it strips ERR and
# the codes it maps to its own classes). A message of an ERR error can start with an
# upper-case word too ("AFTER must be below BEFORE"), so only known codes are taken as codes.
_KEPT_CODES = frozenset(
    "WRONGTYPE UNBLOCKED BUSYKEY BUSY CROSSSLOT CLUSTERDOWN MASTERDOWN MISCONF NOREPLICAS "
    "NOTBUSY NOGOODSLAVE NOREPLICAS NOTREADY".split()
)


def _codes_of_classes() -> Dict[type, str]:
    """The RESP code of each exception class that redis-py raises for an error reply whose
    code it strips (before redis-py 7, which keeps it in ``status_code``). Looked up by
    name: not every version has every class."""
    import redis.exceptions as rex

    names = {
        "NoPermissionError": "NOPERM",
        "OutOfMemoryError": "OOM",
        "ReadOnlyError": "READONLY",
        "NoScriptError": "NOSCRIPT",
        "ExecAbortError": "EXECABORT",
        "AskError": "ASK",
        "MovedError": "MOVED",
        "TryAgainError": "TRYAGAIN",
        "ClusterDownError": "CLUSTERDOWN",
        "MasterDownError": "MASTERDOWN",
        "ClusterCrossSlotError": "CROSSSLOT",
    }
    return {getattr(rex, n): code for n, code in names.items() if hasattr(rex, n)}


_CODE_OF_CLASS = _codes_of_classes()


def _code_of_class(exc: BaseException) -> Optional[str]:
    for cls in type(exc).__mro__:  # the most specific first: MasterDownError, MovedError
        code = _CODE_OF_CLASS.get(cls)
        if code is not None:
            return code
    return None


def server_error(exc: ResponseError) -> ServerError:
    """The ServerError for an error reply that redis-py raised."""
    if isinstance(exc, ServerError):
        return exc
    text = str(exc)
    code = getattr(exc, "status_code", None)
    if not isinstance(code, str) or not code:
        code = _code_of_class(exc)
    if code is None:
        first, _, rest = text.partition(" ")
        if first in _KEPT_CODES:
            return ServerError(first, rest)
        code = "ERR"
    elif text.startswith(code + " "):
        text = text[len(code) + 1 :]
    return ServerError(code, text)


# ---------------------------------------------------------------------------------------
# Time


def parse_time(value: Any) -> Optional[datetime]:
    """A record's ``ts`` as an aware UTC datetime: unix seconds (integer or float) or an
    RFC 3339 string with an offset. None for anything else or a time out of range."""
    try:
        if isinstance(value, bool):
            return None
        if isinstance(value, (int, float)):
            if not math.isfinite(value):
                return None
            return datetime.fromtimestamp(value, UTC)
        if isinstance(value, str):
            return _parse_rfc3339(value)
    except (OverflowError, OSError, ValueError):
        return None
    return None


_RFC3339 = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt ](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?"
    r"(?:([Zz])|([+-])(\d{2}):(\d{2}))\Z"
)


def _parse_rfc3339(text: str) -> Optional[datetime]:
    m = _RFC3339.match(text)
    if m is None:
        return None
    year, month, day, hour, minute, second = (int(m.group(i)) for i in range(1, 7))
    micro = int((m.group(7) or "0")[:6].ljust(6, "0"))
    if m.group(8):
        offset = timedelta(0)
    else:
        offset = timedelta(hours=int(m.group(10)), minutes=int(m.group(11)))
        if m.group(9) == "-":
            offset = -offset
    local = datetime(year, month, day, hour, minute, min(second, 59), micro)
    return (local - offset).replace(tzinfo=UTC)


def utc(dt: datetime) -> datetime:
    """An aware UTC datetime; a naive one is taken as UTC, as the original library did."""
    if dt.tzinfo is None:
        return dt.replace(tzinfo=UTC)
    return dt.astimezone(UTC)


def time_arg(value: Any, name: str, now: Optional[datetime] = None) -> str:
    """A time bound as the server takes it. A datetime (naive means UTC), a timedelta
    meaning that long ago, unix seconds, or an RFC 3339 string passed as it is."""
    if isinstance(value, bool):
        raise TypeError(f"{name} must be a datetime, a timedelta, unix seconds or RFC 3339 text")
    if isinstance(value, timedelta):
        value = (now or datetime.now(UTC)) - value
    if isinstance(value, datetime):
        return _unix_text(utc(value))
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ValueError(f"{name} must be a finite number of seconds")
        return f"{value:.6f}"
    if isinstance(value, str):
        if not value:
            raise ValueError(f"{name} must not be empty")
        return value
    raise TypeError(
        f"{name} must be a datetime, a timedelta, unix seconds or RFC 3339 text, "
        f"not {type(value).__name__}"
    )


def _unix_text(dt: datetime) -> str:
    """Unix seconds with six decimals, exact to the microsecond (no float rounding)."""
    micros = (dt - _EPOCH) // timedelta(microseconds=1)
    sign = "-" if micros < 0 else ""
    whole, frac = divmod(abs(micros), 1_000_000)
    return f"{sign}{whole}.{frac:06d}"


def _time_key(value: Any, now: datetime) -> Optional[datetime]:
    """The instant a time bound stands for, when it can be known without the server."""
    if isinstance(value, timedelta):
        return now - value
    if isinstance(value, datetime):
        return utc(value)
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return parse_time(value)
    return None


# ---------------------------------------------------------------------------------------
# Records


_FIELD = re.compile(r"\{\{|\}\}|\{([^{}]*)\}")


def _fill(text: str, attrs: Mapping[str, Any]) -> str:
    """``text`` with each ``{name}`` field replaced by ``attrs[name]``, where ``name`` is an
    identifier that ``attrs`` has. Nothing else is interpreted: no format spec, conversion,
    attribute or index; ``{{``, ``}}``, unknown names and any other brace stay as stored."""
    if not attrs or "{" not in text:
        return text

    def field(m: "re.Match[str]") -> str:
        name = m.group(1)
        if name is not None and name.isidentifier() and name in attrs:
            return format(attrs[name], "")
        return m.group(0)

    return _FIELD.sub(field, text)


class Log:
    """A record.

    - ``id``: the record's id (from the stored ``"id"``; None if the stored record has none);
    - ``ts``: its time, an aware UTC datetime. It is None for a record without a valid
      time: tlog always writes one, but the layout is shared, and a record written by
      another client can lack ``"ts"``, hold a time out of ``datetime``'s range, or not be
      JSON at all; a made-up time would be worse than None, so check it
      (``if rec.ts is not None``) before use;
    - ``message``: the text of a text message, or the decoded value of a JSON message;
    - ``tags``: its tags (never ``__all__``);
    - ``attrs``: its attributes (``"attrs"``), a dict, empty if it has none;
    - ``record``: the stored JSON object as a dict (empty if the stored text is not one);
    - ``prefix``: the log it was read from.

    ``str()`` is the message, with each ``{name}`` field filled from ``attrs`` when ``name``
    is one of them (nothing else in the text is interpreted), except in a record whose
    ``attrs`` has ``"formatted": true``, such as those of ``LoggingHandler``, whose message
    is already formatted: its ``str()`` is the message as stored. Two records are equal
    when they have the same prefix and id; a record without an id equals only itself.
    """

    __slots__ = ("id", "ts", "message", "tags", "attrs", "record", "prefix")

    def __init__(
        self,
        id: Optional[int],
        ts: Optional[datetime],
        message: Any,
        tags: List[str],
        attrs: Dict[str, Any],
        record: Dict[str, Any],
        prefix: str = "",
    ) -> None:
        self.id = id
        self.ts = ts
        self.message = message
        self.tags = tags
        self.attrs = attrs
        self.record = record
        self.prefix = prefix

    @classmethod
    def from_stored(cls, stored: Union[str, bytes], prefix: str = "") -> "Log":
        """A record from its stored text, as ``GET <prefix>:msg:<id>`` or ``RAW`` give it.
        A text that is not a JSON object is kept whole as the message, as the server does."""
        text = stored.decode("utf-8", "replace") if isinstance(stored, bytes) else stored
        try:
            obj = json.loads(text)
        except ValueError:
            obj = None
        if not isinstance(obj, dict):
            return cls(None, None, text, [], {}, {}, prefix)
        rid = obj.get("id")
        if isinstance(rid, bool) or not isinstance(rid, int):
            rid = None
        raw_tags = obj.get("tags")
        tags = (
            [t for t in raw_tags if isinstance(t, str) and t and t != ALL]
            if isinstance(raw_tags, list)
            else []
        )
        attrs = obj.get("attrs")
        return cls(
            rid,
            parse_time(obj.get("ts")),
            obj.get("message"),
            tags,
            dict(attrs) if isinstance(attrs, dict) else {},
            obj,
            prefix,
        )

    def __str__(self) -> str:
        if isinstance(self.message, str):
            if self.attrs.get("formatted") is True:
                return self.message
            return _fill(self.message, self.attrs)
        return str(self.message)

    def __repr__(self) -> str:
        return f"<Log@{self.ts}: {self.message!r}>"

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Log):
            return NotImplemented
        if self.id is None or other.id is None:  # no id to tell them by: only itself
            return self is other
        return (self.prefix, self.id) == (other.prefix, other.id)

    def __hash__(self) -> int:
        if self.id is None:
            return object.__hash__(self)
        return hash((self.prefix, self.id))


@dataclass(frozen=True, order=True)
class TagInfo:
    """A tag of a prefix, as TLOG.TAGS lists it: its record count, its newest id and time."""

    tag: str
    count: int
    newest_id: Optional[int]
    newest_ts: Optional[datetime]


# ---------------------------------------------------------------------------------------
# Arguments


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def check_prefix(prefix: Optional[str]) -> str:
    if prefix is None:
        return ""
    if not isinstance(prefix, str):
        raise TypeError(f"prefix must be a str, not {type(prefix).__name__}")
    return prefix


def check_tag(tag: Any, what: str = "tag", reading: bool = False) -> str:
    if not isinstance(tag, str):
        raise TypeError(f"{what} must be a str, not {type(tag).__name__}")
    if not tag:
        raise ValueError(f"{what} must not be empty")
    if tag == ALL and not reading:
        raise ValueError(f"{what} '__all__' is reserved: every record is in it already")
    return tag


def tag_list(tags: Optional[Iterable[str]], what: str) -> List[str]:
    if tags is None:
        return []
    if isinstance(tags, (str, bytes)):
        raise TypeError(f"{what} must be a list of tags, not a single {type(tags).__name__}")
    out = [check_tag(t, f"each of {what}") for t in tags]
    if len(out) > MAX_TAGS:
        raise ValueError(f"{what}: at most {MAX_TAGS} tags")
    return out


_ID_TEXT = re.compile(r"[1-9][0-9]*\Z")


def _layout_role(rest: str) -> bool:
    if rest in ("counter", "archive") or rest.startswith("flow:"):
        return True
    if rest.startswith("msg:"):
        digits = rest[4:]
        return bool(_ID_TEXT.match(digits)) and int(digits) < 2**63
    return False


def names_a_key(tag: str) -> bool:
    """Whether the server refuses ``tag`` because its flow would be a key of a nested
    prefix: the tag, or what follows any ``:`` in it, is ``counter``, ``archive``,
    ``msg:<id>`` or ``flow:<anything>`` (see TLOG.LOG's errors)."""
    return _layout_role(tag) or any(
        _layout_role(tag[i + 1 :]) for i, c in enumerate(tag) if c == ":"
    )


def usable_tag(given: Any) -> Optional[str]:
    """A tag as the handler takes it from ``extra``: a str, bytes in UTF-8, or another value
    as its ``str()``; None if the server would refuse it (empty, ``__all__``, not UTF-8,
    naming a key of a nested prefix)."""
    if given is None:
        return None
    if isinstance(given, bytes):
        try:
            tag = given.decode("utf-8")
        except UnicodeDecodeError:
            return None
    else:
        tag = given if isinstance(given, str) else str(given)
    if not tag or tag == ALL or names_a_key(tag):
        return None
    try:
        tag.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return None
    return tag


def _int(value: Any, name: str, low: int, high: Optional[int] = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < low or (high is not None and value > high):
        bound = f"from {low} to {high}" if high is not None else f"at least {low}"
        raise ValueError(f"{name} must be {bound}, not {value}")
    return value


def _seconds(value: Any, name: str, low: int, high: int) -> int:
    if isinstance(value, timedelta):
        micros = value // timedelta(microseconds=1)
        if micros % 1_000_000:
            raise ValueError(f"{name} must be a whole number of seconds, not {value}")
        value = micros // 1_000_000
    return _int(value, name, low, high)


MAX_SECONDS = 3_153_600_000
MAX_LEN = 10**12


def json_text(value: Any, what: str) -> str:
    try:
        return json.dumps(value, ensure_ascii=False, allow_nan=False, separators=(",", ":"))
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{what} must be JSON-able: {exc}") from None


def add_args(
    prefix: str,
    message: Any,
    tags: Optional[Iterable[str]] = None,
    *,
    ttl: Union[int, timedelta, None] = None,
    maxlen: Optional[int] = None,
    maxage: Union[int, timedelta, None] = None,
    approximate: bool = False,
    ts: Union[datetime, int, float, str, None] = None,
    attrs: Optional[Mapping[str, Any]] = None,
) -> List[Any]:
    """The TLOG.ADD command that logs ``message``: text for a str, JSON for anything else."""
    prefix = check_prefix(prefix)
    args: List[Any] = ["TLOG.ADD", prefix]
    if isinstance(message, bytes):
        try:
            message = message.decode("utf-8")
        except UnicodeDecodeError:
            raise ValueError("a bytes message must be UTF-8") from None
    if isinstance(message, str):
        text = message
    else:
        args.append("JSON")
        text = json_text(message, "message")
    if ttl is not None:
        args += ["TTL", _seconds(ttl, "ttl", 1, MAX_SECONDS)]
    approx = ["~"] if approximate else []
    if maxlen is not None:
        args += ["MAXLEN", *approx, _int(maxlen, "maxlen", 1, MAX_LEN)]
    if maxage is not None:
        args += ["MAXAGE", *approx, _seconds(maxage, "maxage", 1, MAX_SECONDS)]
    if approximate and maxlen is None and maxage is None:
        raise ValueError("approximate applies to maxlen or maxage: give one of them")
    if ts is not None:
        if isinstance(ts, timedelta):
            raise TypeError("ts must be a datetime, unix seconds or RFC 3339 text")
        args += ["TS", time_arg(ts, "ts")]
    if attrs:
        if not isinstance(attrs, Mapping):
            raise TypeError(f"attrs must be a dict, not {type(attrs).__name__}")
        for key in attrs:
            if not isinstance(key, str):
                raise TypeError(f"attrs keys must be str, not {type(key).__name__}")
        args += ["ATTRS", json_text(dict(attrs), "attrs")]
    args += ["MESSAGE", text, *tag_list(tags, "tags")]
    return args


_ORDERS = {"desc": "DESC", "asc": "ASC"}


class Query:
    """The filters and bounds of a read, checked once, turned into arguments per call."""

    def __init__(
        self,
        tag: str = ALL,
        *,
        and_: Optional[Iterable[str]] = None,
        or_: Optional[Iterable[str]] = None,
        not_: Optional[Iterable[str]] = None,
        before: Optional[int] = None,
        after: Optional[int] = None,
        since: Optional[TimeArg] = None,
        until: Optional[TimeArg] = None,
        where: Optional[Mapping[str, Any]] = None,
        match: Optional[str] = None,
        order: str = "desc",
        scan_limit: Optional[int] = None,
        min_ts: Optional[TimeArg] = None,
        max_ts: Optional[TimeArg] = None,
    ) -> None:
        self.tag = check_tag(tag, reading=True)
        self.filters: List[Any] = []
        for word, tags in (("AND", and_), ("OR", or_), ("NOT", not_)):
            name = word.lower() + "_"
            listed = tag_list(tags, name)
            if tags is not None and not listed:
                raise ValueError(f"{name} needs at least one tag")
            if listed:
                self.filters += [word, len(listed), *listed]
        if where:
            if not isinstance(where, Mapping):
                raise TypeError(f"where must be a dict, not {type(where).__name__}")
            pairs: List[Any] = []
            for field, value in where.items():
                if not isinstance(field, str) or not field:
                    raise ValueError("where: each field must be a non-empty str")
                if value is not None and not isinstance(value, (str, int, float)):
                    raise TypeError(
                        f"where: the value of {field!r} must be a str, int, float, bool or "
                        f"None, not {type(value).__name__} (the server compares scalars: "
                        "a list or dict would match nothing)"
                    )
                pairs += [field, value if isinstance(value, str) else json_text(value, "where")]
            if len(where) > 64:
                raise ValueError("where: at most 64 fields")
            self.filters += ["WHERE", len(where), *pairs]
        if match is not None:
            if not isinstance(match, str):
                raise TypeError(f"match must be a str, not {type(match).__name__}")
            self.filters += ["MATCH", match]
        if min_ts is not None:
            if since is not None:
                raise ValueError("give since or min_ts, not both")
            since = min_ts
        if max_ts is not None:
            if until is not None:
                raise ValueError("give until or max_ts, not both")
            until = max_ts
        self.before = None if before is None else _int(before, "before", 1)
        self.after = None if after is None else _int(after, "after", 0)
        if self.before is not None and self.after is not None and self.after >= self.before:
            raise ValueError(f"after ({after}) must be below before ({before})")
        now = datetime.now(UTC)
        self.since = None if since is None else time_arg(since, "since", now)
        self.until = None if until is None else time_arg(until, "until", now)
        lo, hi = _time_key(since, now), _time_key(until, now)
        if lo is not None and hi is not None and lo > hi:
            raise ValueError("since must not be after until")
        if not isinstance(order, str) or order.lower() not in _ORDERS:
            raise ValueError(f"order must be 'desc' or 'asc', not {order!r}")
        self.asc = order.lower() == "asc"
        self.scan_limit = None if scan_limit is None else _int(scan_limit, "scan_limit", 0)

    def args(
        self,
        command: str,
        prefix: str,
        *,
        limit: Optional[int] = None,
        before: Optional[int] = None,
        after: Optional[int] = None,
        order: bool = False,
        times: bool = True,
    ) -> List[Any]:
        """The command's arguments; ``before``/``after`` replace the query's own bounds."""
        args: List[Any] = [command, prefix, self.tag, *self.filters]
        if limit is not None:
            args += ["LIMIT", limit]
        if order and self.asc:
            args.append("ASC")
        b = before if before is not None else self.before
        a = after if after is not None else self.after
        if b is not None:
            args += ["BEFORE", b]
        if a is not None:
            args += ["AFTER", a]
        if times:
            if self.since is not None:
                args += ["SINCE", self.since]
            if self.until is not None:
                args += ["UNTIL", self.until]
        if self.scan_limit is not None:
            args += ["SCANLIMIT", self.scan_limit]
        return args


# ---------------------------------------------------------------------------------------
# Replies


def _records(reply: Any, prefix: str) -> List[Log]:
    if reply is None:
        return []
    if not isinstance(reply, list):
        raise TlogError(f"unexpected reply, not an array of records: {reply!r}")
    return [Log.from_stored(r, prefix) for r in reply if r is not None]


def _cursor_reply(reply: Any) -> Tuple[int, Any]:
    if not isinstance(reply, list) or len(reply) != 2 or not isinstance(reply[0], int):
        raise TlogError(f"unexpected reply, not [cursor, ...]: {reply!r}")
    return reply[0], reply[1]


def _fields(reply: Any) -> Dict[str, Any]:
    """A map reply as a dict with str keys: RESP3 gives a dict, RESP2 a flat list."""
    if isinstance(reply, dict):
        items = list(reply.items())
    elif isinstance(reply, list):
        items = list(zip(reply[::2], reply[1::2]))
    else:
        raise TlogError(f"unexpected reply, not a map: {reply!r}")
    return {_text(k): v for k, v in items}


def _tag_info(reply: Any) -> TagInfo:
    f = _fields(reply)
    nid = f.get("newest-id")
    nts = f.get("newest-ts")
    return TagInfo(
        _text(f.get("tag")),
        int(f.get("count") or 0),
        nid if isinstance(nid, int) else None,
        parse_time(_text(nts)) if nts is not None else None,
    )


# ---------------------------------------------------------------------------------------
# Operations. Each one is a generator: it yields a Call (a command to send) or a Sleep and
# is sent the reply; iterators also yield the records (Log) they produce, and are sent None.


class Call(NamedTuple):
    args: List[Any]
    # A write: sent once, on a connection of its own, without the client's retries (a
    # retried TLOG.ADD whose reply was lost would store the record twice).
    once: bool = False


class Sleep(NamedTuple):
    seconds: float


Step = Union[Call, Sleep, Log, TagInfo]
Op = Generator[Step, Any, Any]


def op_command(args: List[Any], once: bool = False) -> Op:
    reply = yield Call(args, once)
    return reply


def pool_args(pool: Any, args: List[Any]) -> List[Any]:
    """The arguments of ``pool.get_connection``: none, or the command's name for the
    redis-py versions (before 5.3) where it is required."""
    import inspect

    try:
        param = inspect.signature(pool.get_connection).parameters.get("command_name")
    except (TypeError, ValueError):
        return []
    if param is not None and param.default is inspect.Parameter.empty:
        return [args[0]]
    return []


def check_page(limit: Optional[int], page_size: int) -> None:
    if limit is not None:
        _int(limit, "limit", 0)
    _int(page_size, "page_size", 1)


def op_get(prefix: str, q: Query, limit: Optional[int], page_size: int) -> Op:
    """Records newest first (oldest first with ``order='asc'``), at most ``limit``: pages of
    ``page_size`` with WITHCURSOR, going on from each cursor, so a page cut short by the scan
    limit is filled from the next call."""
    remaining = limit
    cursor: Optional[int] = None
    while remaining is None or remaining > 0:
        n = page_size if remaining is None else min(page_size, remaining)
        args = q.args(
            "TLOG.GET",
            prefix,
            limit=n,
            order=True,
            before=cursor if cursor and not q.asc else None,
            after=cursor if cursor and q.asc else None,
        )
        reply = yield Call(args + ["WITHCURSOR", "RAW"])
        cursor, records = _cursor_reply(reply)
        for rec in _records(records, prefix):
            yield rec
            if remaining is not None:
                remaining -= 1
        if not cursor:
            return


def op_latest(prefix: str, q: Query) -> Op:
    cursor: Optional[int] = None
    while True:
        args = q.args("TLOG.LATEST", prefix, before=cursor or None)
        cursor, rec = _cursor_reply((yield Call(args + ["WITHCURSOR", "RAW"])))
        if rec is not None:
            return Log.from_stored(rec, prefix)
        if not cursor:
            return None


def op_count(prefix: str, q: Query) -> Op:
    total = 0
    cursor: Optional[int] = None
    while True:
        args = q.args("TLOG.COUNT", prefix, before=cursor or None)
        cursor, n = _cursor_reply((yield Call(args + ["WITHCURSOR"])))
        total += int(n)
        if not cursor:
            return total


def count_bucket_args(
    prefix: str, q: Query, bucket: Any, before: Optional[int] = None
) -> List[Any]:
    """TLOG.COUNT ... BUCKET, with WITHCURSOR. The server needs SINCE and UNTIL: without
    ``until``, it is now."""
    seconds = _seconds(bucket, "bucket", 1, MAX_SECONDS)
    if q.since is None:
        raise ValueError("count with bucket needs since")
    args = q.args("TLOG.COUNT", prefix, before=before)
    if q.until is None:
        at = args.index("SCANLIMIT") if "SCANLIMIT" in args else len(args)
        args[at:at] = ["UNTIL", _unix_text(datetime.now(UTC))]
    return args + ["BUCKET", seconds, "WITHCURSOR"]


def op_count_buckets(prefix: str, q: Query, bucket: Any) -> Op:
    """A histogram, summed bucket by bucket across the calls a scan limit cuts it into."""
    counts: Dict[int, int] = {}
    order: List[int] = []
    cursor: Optional[int] = None
    while True:
        reply = yield Call(count_bucket_args(prefix, q, bucket, before=cursor or None))
        cursor, pairs = _cursor_reply(reply)
        if not isinstance(pairs, list):
            raise TlogError(f"unexpected reply, not an array of buckets: {reply!r}")
        for pair in pairs:
            if not isinstance(pair, list) or len(pair) != 2:
                raise TlogError(f"unexpected bucket: {pair!r}")
            start = int(pair[0])
            if start not in counts:
                counts[start] = 0
                order.append(start)
            counts[start] += int(pair[1])
        if not cursor:
            return [(datetime.fromtimestamp(s, UTC), counts[s]) for s in sorted(order)]


def op_tags(prefix: str, match: Optional[str], count: Optional[int]) -> Op:
    extra: List[Any] = []
    if match is not None:
        if not isinstance(match, str):
            raise TypeError(f"match must be a str, not {type(match).__name__}")
        extra += ["MATCH", match]
    if count is not None:
        extra += ["COUNT", _int(count, "count", 1, 10_000)]
    seen = set()
    cursor = "0"
    while True:
        reply = yield Call(["TLOG.TAGS", prefix, cursor, *extra])
        if not isinstance(reply, list) or len(reply) != 2:
            raise TlogError(f"unexpected reply of TLOG.TAGS: {reply!r}")
        cursor = _text(reply[0])
        for item in reply[1] or []:
            info = _tag_info(item)
            if info.tag not in seen:  # SCAN can list a tag twice
                seen.add(info.tag)
                yield info
        if cursor == "0":
            return


def delete_args(prefix: str, ids: Sequence[Any]) -> List[Any]:
    if not ids:
        raise ValueError("delete needs at least one record id")
    return ["TLOG.DEL", prefix, *[_int(i, "each id", 1) for i in ids]]


def tail_start(after: TailFrom) -> Union[int, str]:
    if after is None:
        return 0
    if after == "$":
        return "$"
    return _int(after, "after", 0)


def follow_params(
    after: TailFrom, block: timedelta, count: Optional[int]
) -> Tuple[Union[int, str], int, List[Any]]:
    """The id to start from, BLOCK in milliseconds and the COUNT option of ``follow``."""
    if not isinstance(block, timedelta):
        raise TypeError(f"block must be a timedelta, not {type(block).__name__}")
    block_ms = block // timedelta(milliseconds=1)
    if block_ms < 1:
        raise ValueError("block must be at least a millisecond")
    extra: List[Any] = ["COUNT", _int(count, "count", 1)] if count is not None else []
    return tail_start(after), block_ms, extra


def socket_timeout_of(client: Any) -> Optional[float]:
    """The client's ``socket_timeout`` in seconds, when it has one."""
    pool = getattr(client, "connection_pool", None)
    kwargs = getattr(pool, "connection_kwargs", None)
    value = kwargs.get("socket_timeout") if isinstance(kwargs, dict) else None
    if isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0:
        return float(value)
    return None


def _tail_base(prefix: str, q: Query, last: Union[int, str], extra: List[Any]) -> List[Any]:
    return [
        "TLOG.TAIL",
        prefix,
        q.tag,
        last,
        *q.filters,
        *extra,
        *(["SCANLIMIT", q.scan_limit] if q.scan_limit is not None else []),
        "WITHCURSOR",
        "RAW",
    ]


def op_tail_now(prefix: str, q: Query) -> Op:
    """The id ``'$'`` stands for now: the newest id of the flow, by a call that does not
    block (``TLOG.TAIL ... $ WITHCURSOR`` answers ``[id, []]``); 0 for an empty flow."""
    reply = yield Call(_tail_base(prefix, q, "$", ["COUNT", 1]))
    if reply is None:
        return 0
    cursor, _ = _cursor_reply(reply)
    return cursor or 0


FOLLOW_RETRIES = 10


def op_follow(
    prefix: str,
    q: Query,
    after: TailFrom,
    block: timedelta,
    count: Optional[int],
    timeout: Optional[timedelta],
    clock: Any,
    retries: int = FOLLOW_RETRIES,
    socket_timeout: Optional[float] = None,
) -> Op:
    """TLOG.TAIL from an id, forever (or until ``timeout`` passes without a record). The id
    to go on from is the cursor of each reply, so a reconnect neither misses nor repeats.

    Each call blocks at most ``block``, less than the client's ``socket_timeout`` (so that
    a wait never trips it), and no longer than what is left of ``timeout``. A socket
    timeout all the same is taken as a wait that ended empty; ``retries`` connection
    failures in a row raise the last one."""
    from redis.exceptions import ConnectionError as RedisConnectionError
    from redis.exceptions import TimeoutError as RedisTimeoutError

    last, block_ms, extra = follow_params(after, block, count)
    if socket_timeout is not None:
        block_ms = min(block_ms, max(1, int(socket_timeout * 800)))
    idle_since = clock()
    failures = 0
    limit = None if timeout is None else timeout.total_seconds()
    while True:
        base = _tail_base(prefix, q, last, extra)
        # '$' is resolved by a call that does not block, so that the id it stands for is
        # known before waiting: a wait that times out then goes on from that id, not from a
        # new '$' that would skip what came in between.
        wait = block_ms
        if limit is not None:
            left_ms = int((limit - (clock() - idle_since)) * 1000)
            wait = max(1, min(wait, left_ms))
        args = base if last == "$" else base + ["BLOCK", wait]
        try:
            reply = yield Call(args)
        except RedisTimeoutError:
            reply = None  # a wait that ended without a reply, not a lost connection
        except RedisConnectionError:
            failures += 1
            if failures > retries:
                raise
            yield Sleep(min(0.05 * 2**failures, 2.0))
            continue
        failures = 0
        if reply is None:
            if limit is not None and clock() - idle_since >= limit:
                return
            continue
        cursor, records = _cursor_reply(reply)
        got = _records(records, prefix)
        if cursor:
            last = cursor
        elif last == "$":
            last = 0
        for rec in got:
            yield rec
        if got:
            idle_since = clock()
        elif limit is not None and clock() - idle_since >= limit:
            return
