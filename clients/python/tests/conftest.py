"""A real redis-server with the module, started once per test session on a free port, and a
fresh prefix per test. TLOG_MODULE names the module (target/release/libtlog.so by default)."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any, Dict, Iterator

import pytest
import redis

import tlog

ROOT = Path(__file__).resolve().parents[3]
MODULE = Path(os.environ.get("TLOG_MODULE", ROOT / "target" / "release" / "libtlog.so"))


class Server:
    def __init__(self) -> None:
        if not MODULE.exists():
            pytest.exit(f"no module at {MODULE}: run `cargo build --release` first", 2)
        self.dir = tempfile.mkdtemp(prefix="tlog-py-")
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            self.port = s.getsockname()[1]
        self.log = Path(self.dir, "server.log")
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                self.dir,
                "--logfile",
                str(self.log),
                "--enable-debug-command",
                "local",
                "--loadmodule",
                str(MODULE),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 10
        while True:
            if self.proc.poll() is not None:
                raise RuntimeError(f"redis-server exited:\n{self.log.read_text()}")
            try:
                if redis.Redis(port=self.port, socket_timeout=1).ping():
                    break
            except redis.ConnectionError as exc:
                if time.monotonic() > deadline:
                    log = self.log.read_text()
                    raise RuntimeError(f"redis-server did not answer:\n{log}") from exc
                time.sleep(0.01)  # polling, bounded by the deadline above

    def client(self, **kwargs: Any) -> "redis.Redis[Any]":
        return redis.Redis(port=self.port, **kwargs)

    def stop(self) -> None:
        self.proc.terminate()
        self.proc.wait(10)
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture(scope="session")
def server() -> Iterator[Server]:
    s = Server()
    yield s
    s.stop()


@pytest.fixture(params=[2, 3], ids=["resp2", "resp3"])
def protocol(request: pytest.FixtureRequest) -> int:
    return int(request.param)


@pytest.fixture
def prefix() -> str:
    return "t" + uuid.uuid4().hex[:12]


@pytest.fixture
def conn(server: Server, protocol: int) -> Dict[str, Any]:
    """Connection arguments for a client in the test's protocol."""
    return {"port": server.port, "protocol": protocol, "decode_responses": protocol == 3}


@pytest.fixture
def logger(conn: Dict[str, Any], prefix: str) -> Iterator[tlog.Logger]:
    lg = tlog.Logger(prefix, **conn)
    yield lg
    lg.client.close()


@pytest.fixture
def raw(server: Server) -> "redis.Redis[Any]":
    """A plain client, for writing and reading the layout by hand."""
    return server.client(decode_responses=True)


def pytest_report_header() -> str:
    return f"redis-py {redis.__version__}, module {MODULE}"
