"""Error replies keep their RESP code, whatever redis-py version maps them to its classes."""

from __future__ import annotations

import pytest
import redis.exceptions as rex

import tlog
from tlog._core import server_error

from conftest import Server


@pytest.mark.parametrize(
    "name, code",
    [
        ("OutOfMemoryError", "OOM"),
        ("ReadOnlyError", "READONLY"),
        ("NoScriptError", "NOSCRIPT"),
        ("NoPermissionError", "NOPERM"),
        ("ExecAbortError", "EXECABORT"),
        ("MasterDownError", "MASTERDOWN"),
        ("ClusterDownError", "CLUSTERDOWN"),
        ("ClusterCrossSlotError", "CROSSSLOT"),
        ("TryAgainError", "TRYAGAIN"),
    ],
)
def test_classes_map_back_to_codes(name: str, code: str) -> None:
    """As redis-py 5 and 6 raise them: the class, no code in the text."""
    cls = getattr(rex, name, None)
    if cls is None:
        pytest.skip(f"redis-py {rex.__name__} has no {name}")
    err = server_error(cls("the text"))
    assert (err.code, err.message, str(err)) == (code, "the text", f"{code} the text")


def test_codes_kept_in_the_text_and_plain_errors() -> None:
    err = server_error(rex.ResponseError("BUSY Redis is busy running a script"))
    assert (err.code, err.message) == ("BUSY", "Redis is busy running a script")
    err = server_error(rex.ResponseError("AFTER must be below BEFORE"))
    assert (err.code, err.message) == ("ERR", "AFTER must be below BEFORE")


def test_oom_and_readonly_from_a_real_server() -> None:
    s = Server()
    try:
        lg = tlog.Logger("p", port=s.port)
        admin = s.client()
        admin.config_set("maxmemory", 1)
        with pytest.raises(tlog.ServerError) as oom:
            lg.log("x")
        assert oom.value.code == "OOM", str(oom.value)
        admin.config_set("maxmemory", 0)
        admin.execute_command("REPLICAOF", "127.0.0.1", 1)  # nobody there: stays read-only
        with pytest.raises(tlog.ServerError) as ro:
            lg.log("x")
        assert ro.value.code == "READONLY", str(ro.value)
        assert str(ro.value).startswith("READONLY You can't write against a read only replica")
        lg.client.close()
        admin.close()
    finally:
        s.stop()
