"""``tlog.LoggingHandler``: the records of the ``logging`` module as tlog records."""

from __future__ import annotations

import logging
import queue
import threading
import time
from datetime import timedelta
from logging.handlers import QueueHandler, QueueListener
from typing import TYPE_CHECKING, Any, Dict, Iterable, List, Optional, Union, cast

from . import _core

if TYPE_CHECKING:
    from ._sync import Logger

__all__ = ["LoggingHandler"]


class LoggingHandler(logging.Handler):
    """A ``logging.Handler`` that logs each ``LogRecord`` as a tlog record.

    - the message is the formatter's text (``%(message)s`` unless a formatter is set);
    - the tags are ``tags`` given here, those of ``extra={'tags': [...]}``, then
      ``level:<LEVEL>`` and ``logger:<name>``; a tag that is not a str is taken as its
      ``str()`` (bytes: as UTF-8), and a tag the server would refuse (empty, ``__all__``,
      one naming a key of a nested prefix such as ``flow:x`` or ``logger:counter``) is
      left out: the record is stored with the others;
    - with ``attrs=True`` (the default) the record's attributes are ``level``, ``logger``,
      ``module``, ``line``, ``function``, ``thread``, and ``exception`` (the traceback
      text) when there is one, which is then not repeated in the message, and
      ``formatted: true``, which tells ``str()`` of the record not to fill ``{name}``
      fields of the message, already formatted by ``logging``; with
      ``attrs=False`` there are none and the message has the traceback, as the stdlib
      handlers write it;
    - ``ttl``, ``maxlen``, ``maxage`` and ``approximate`` are those of ``Logger.log``.

    The log is ``logger`` (a ``tlog.Logger``), else one made from ``prefix`` and the
    connection keywords (``url=``, ``host=``, ``client=``, ...), else the one of
    ``tlog.configure``, looked up at each record.

    It never raises into the application: an error goes to ``handleError``, as for every
    handler. With ``queue_size=n``, records are sent by a background thread
    (``QueueHandler``/``QueueListener``) through a queue of at most ``n`` records, so a slow
    Redis never blocks the application: a record that finds the queue full is dropped and
    counted in ``dropped``. ``flush()`` waits for the queue to drain (at most
    ``flush_timeout``); ``close()`` sends what is queued and stops the thread within
    ``flush_timeout`` too, dropping (and counting) what is left then, so a dead Redis never
    holds the interpreter's exit for longer.
    """

    def __init__(
        self,
        logger: Optional["Logger"] = None,
        *,
        prefix: Optional[str] = None,
        tags: Iterable[str] = (),
        ttl: Union[int, timedelta, None] = None,
        maxlen: Optional[int] = None,
        maxage: Union[int, timedelta, None] = None,
        approximate: bool = False,
        attrs: bool = True,
        queue_size: Optional[int] = None,
        flush_timeout: timedelta = timedelta(seconds=5),
        level: Union[int, str] = logging.NOTSET,
        **redis_kwargs: Any,
    ) -> None:
        super().__init__(level)
        if logger is not None and (prefix is not None or redis_kwargs):
            raise TypeError("give a Logger, or a prefix and connection arguments, not both")
        if logger is None and (prefix is not None or redis_kwargs):
            from ._sync import Logger

            logger = Logger(prefix, **redis_kwargs)
        self._logger = logger
        self.tags = _core.tag_list(list(tags), "tags")
        self.options: Dict[str, Any] = dict(
            ttl=ttl, maxlen=maxlen, maxage=maxage, approximate=approximate
        )
        _core.add_args("", "", self.tags, **self.options)  # checks the options now
        self.attrs = attrs
        self.flush_timeout = flush_timeout
        self.dropped = 0
        self._drop_lock = threading.Lock()
        self._gave_up = False
        self._deadline: Optional[float] = None
        self._queue: Optional["queue.Queue[Any]"] = None
        self._listener: Optional[QueueListener] = None
        self._enqueue: Optional[QueueHandler] = None
        if queue_size is not None:
            if isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1:
                raise ValueError(f"queue_size must be a positive int, not {queue_size!r}")
            self._queue = queue.Queue(queue_size)
            self._enqueue = _Enqueue(self, self._queue)
            self._listener = _Listener(self._queue, _Sender(self))
            self._listener.start()

    @property
    def logger(self) -> "Logger":
        if self._logger is not None:
            return self._logger
        from . import get_logger

        return get_logger()

    def command(self, record: logging.LogRecord) -> List[Any]:
        """The TLOG.ADD command for a LogRecord."""
        exception: Optional[str] = None
        if self.attrs:
            saved = record.exc_info, record.exc_text, record.stack_info
            if record.exc_info:
                fmt = self.formatter or logging.Formatter()
                exception = fmt.formatException(record.exc_info)
            elif record.exc_text:
                exception = record.exc_text
            record.exc_info, record.exc_text, record.stack_info = None, None, None
            try:
                message = self.format(record)
            finally:
                record.exc_info, record.exc_text, record.stack_info = saved
        else:
            message = self.format(record)
        extra = getattr(record, "tags", None) or []
        if isinstance(extra, (str, bytes)) or not isinstance(extra, Iterable):
            extra = [extra]
        tags: List[str] = []
        for given in [*self.tags, *extra, f"level:{record.levelname}", f"logger:{record.name}"]:
            tag = _core.usable_tag(given)  # a tag the server would refuse is left out
            if tag is not None and tag not in tags and len(tags) < _core.MAX_TAGS:
                tags.append(tag)
        attrs: Optional[Dict[str, Any]] = None
        if self.attrs:
            attrs = {
                "level": record.levelname,
                "logger": record.name,
                "module": record.module,
                "line": record.lineno,
                "function": record.funcName,
                "thread": record.threadName,
            }
            if exception:
                attrs["exception"] = exception
            if record.stack_info:
                attrs["stack"] = record.stack_info
            attrs["formatted"] = True  # str() of the record leaves the message as it is
        return _core.add_args(self.logger.prefix, message, tags, attrs=attrs, **self.options)

    def send(self, record: logging.LogRecord, args: List[Any]) -> None:
        try:
            self.logger._write(*args)
        except Exception:
            self.handleError(record)

    def emit(self, record: logging.LogRecord) -> None:
        try:
            if self._enqueue is not None and self._listener is None:
                self._count_dropped()  # closed: no thread sends any more
            elif self._enqueue is not None:
                self._enqueue.emit(record)
            else:
                self.send(record, self.command(record))
        except Exception:
            self.handleError(record)

    def flush(self) -> None:
        """Waits for the queue to drain, at most ``flush_timeout``."""
        q = self._queue
        if q is None:
            return
        deadline = time.monotonic() + self.flush_timeout.total_seconds()
        while q.unfinished_tasks and time.monotonic() < deadline:
            time.sleep(0.005)
        self._gave_up = bool(q.unfinished_tasks)

    def close(self) -> None:
        """Sends what is queued and stops the thread, within ``flush_timeout``: what is left
        at the deadline is dropped and counted in ``dropped``. When a ``flush()`` just gave up
        (as ``logging.shutdown`` calls it at exit, before ``close()``) and nothing was sent
        since, it does not wait again."""
        listener, self._listener = self._listener, None
        q = self._queue
        if listener is not None and q is not None:
            wait = 0.0 if self._gave_up else self.flush_timeout.total_seconds()
            deadline = time.monotonic() + wait
            self._deadline = deadline  # the thread drops what it takes after it
            while q.unfinished_tasks and time.monotonic() < deadline:
                time.sleep(0.005)
            while True:
                try:
                    q.get_nowait()
                except queue.Empty:
                    break
                q.task_done()
                self._count_dropped()
            try:
                q.put(getattr(listener, "_sentinel", None), timeout=0.05)
            except queue.Full:  # emit() calls raced in: the thread drops what they queued
                pass
            thread = getattr(listener, "_thread", None)
            if thread is not None:
                # A send in progress is not waited for past the deadline (the thread is
                # a daemon); its record is sent or goes to handleError.
                thread.join(max(0.0, deadline - time.monotonic()) + 0.05)
        super().close()

    def _count_dropped(self) -> None:
        with self._drop_lock:
            self.dropped += 1

    def _send_queued(self, record: logging.LogRecord, args: List[Any]) -> None:
        """The thread's send: after close()'s deadline, the record is dropped."""
        if self._deadline is not None and time.monotonic() >= self._deadline:
            self._count_dropped()
            return
        self.send(record, args)
        self._gave_up = False


class _Enqueue(QueueHandler):
    """Builds the command in the caller's thread (the record's arguments may change after),
    then queues it without waiting; a full queue drops the record and counts it."""

    def __init__(self, owner: LoggingHandler, q: "queue.Queue[Any]") -> None:
        super().__init__(q)
        self.owner = owner

    def prepare(self, record: logging.LogRecord) -> Any:
        return (record, self.owner.command(record))

    def enqueue(self, record: Any) -> None:
        try:
            self.queue.put_nowait(record)
        except queue.Full:
            self.owner._count_dropped()

    def handleError(self, record: logging.LogRecord) -> None:
        self.owner.handleError(record)


class _Listener(QueueListener):
    def dequeue(self, block: bool) -> Any:
        return cast("queue.Queue[Any]", self.queue).get(block)

    def prepare(self, record: Any) -> Any:
        return record

    def handle(self, item: Any) -> None:
        record, args = item
        for handler in self.handlers:
            if isinstance(handler, _Sender):
                handler.owner._send_queued(record, args)


class _Sender(logging.Handler):
    def __init__(self, owner: LoggingHandler) -> None:
        super().__init__()
        self.owner = owner

    def emit(self, record: logging.LogRecord) -> None:  # pragma: no cover (not called)
        pass
