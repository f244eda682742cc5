"""The ```python examples of README.md and docs/python.md, run in order against the test
server, so the pages cannot drift from the client."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any, Dict, List

import pytest

import tlog
import tlog._sync
import tlog.asyncio

ROOT = Path(__file__).resolve().parents[3]
PAGES = [ROOT / "README.md", ROOT / "docs" / "python.md"]


def blocks() -> List[str]:
    return [
        b
        for page in PAGES
        for b in re.findall(r"^```python\n(.*?)^```$", page.read_text(), re.S | re.M)
    ]


@pytest.fixture
def on_test_server(server: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    """Clients made without a port go to the test server (the page says nothing of ports),
    and each example starts on an empty server, as a reader's would."""
    server.client().flushall()
    make, amake = tlog._sync.make_client, tlog.asyncio._make_client
    monkeypatch.setattr(tlog._sync, "make_client", lambda kw: make({"port": server.port, **kw}))
    monkeypatch.setattr(tlog.asyncio, "_make_client", lambda kw: amake({"port": server.port, **kw}))


def test_the_page_has_examples() -> None:
    assert len(blocks()) >= 8


@pytest.mark.parametrize("index", range(len(blocks())))
def test_example(index: int, on_test_server: None, capsys: pytest.CaptureFixture[str]) -> None:
    code = blocks()[index]
    namespace: Dict[str, Any] = {"__name__": f"docs_example_{index}"}
    exec(compile(code, f"block{index}", "exec"), namespace)
    # Each `print(...)  # output` shows what it prints: check it, times aside.
    out = capsys.readouterr().out.splitlines()
    shown = [m.group(1) for m in re.finditer(r"^print\(.*\)\s+# (.*)$", code, re.M)]
    printed = [line for line, src in zip(out, printing_lines(code)) if src]
    for want, got in zip(shown, printed):
        want = re.sub(r"Log@\.\.\.", "Log@<time>", want)  # the original README's "Log@..."
        assert re.sub(TIME, "<time>", got) == re.sub(TIME, "<time>", want)


TIME = r"\d{4}-\d\d-\d\d[T ]\d\d:\d\d:\d\d(\.\d+)?\+00:00"


def printing_lines(code: str) -> List[bool]:
    """For each top-level print of the block, whether it shows its output in a comment."""
    return [
        bool(re.search(r"\)\s+# ", line)) for line in code.splitlines() if line.startswith("print(")
    ]
