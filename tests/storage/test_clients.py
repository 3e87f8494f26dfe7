"""Building Chroma clients: server urls are checked where they are given; HTTP clients
get timeouts."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from toolwise import Toolwise
from toolwise.errors import InvalidArgumentError
from toolwise.storage.clients import apply_timeouts, check_url, ephemeral_client, http_client
from toolwise.storage.health import StoreTimeouts


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", ("127.0.0.1", 8000, False)),
        ("http://chroma.internal", ("chroma.internal", 8000, False)),
        ("https://chroma.example.com", ("chroma.example.com", 443, True)),
    ],
)
def test_server_urls_are_parsed(url: str, expected: tuple[str, int, bool]) -> None:
    """Host, port (defaulted by scheme) and TLS come from the url."""
    assert check_url(url) == expected


@pytest.mark.parametrize(
    "url", ["localhost:8000", "ftp://host", "", "http://:8000", "http://host:99999"]
)
def test_malformed_urls_are_rejected_naming_url(url: str) -> None:
    """A url that could never connect fails at once, naming the argument."""
    with pytest.raises(InvalidArgumentError) as info:
        check_url(url)
    assert info.value.field == "url"


@pytest.mark.server
def test_http_clients_get_toolwise_timeouts_on_their_session(chroma_server: Any) -> None:
    """Chroma's HTTP session waits forever by default; toolwise's client has both timeouts
    (a Chroma upgrade that moves the session fails here, not in production)."""
    timeouts = StoreTimeouts(connect=1.5, read=7.0, max_read=30.0)
    client = http_client(chroma_server.url, timeouts=timeouts)
    assert client._server._session.timeout == httpx.Timeout(30.0, connect=1.5)


def test_a_server_that_never_answers_fails_the_client_within_connect(silent_server: Any) -> None:
    """The heartbeat made before Chroma's own client gives up after ``connect``."""
    with pytest.raises(httpx.ReadTimeout):
        http_client(silent_server.url, timeouts=StoreTimeouts(connect=0.2))


def test_embedded_clients_are_left_as_they_are() -> None:
    """No HTTP session, nothing to set: an embedded client comes back unchanged."""
    client = ephemeral_client()
    assert apply_timeouts(client, StoreTimeouts()) is client


def test_the_default_relative_path_follows_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """``Toolwise()`` in another directory opens that directory's ``./.toolwise``, not a cached
    client of the first one (Chroma caches clients by path string)."""
    for name in ("one", "two"):
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        with Toolwise() as tw:
            tw.record(agent_id="a", tool=f"tool_{name}")
            tw.flush()
            assert [t.name for t in tw.summary("a").tools] == [f"tool_{name}"]
        assert (tmp_path / name / ".toolwise").is_dir()


def _run(code: str) -> str:
    import subprocess
    import sys

    done = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=180
    )
    return done.stdout.strip().splitlines()[-1]


def test_chroma_is_imported_without_override_checks_and_they_come_back(tmp_path: Path) -> None:
    """A fresh process imports chromadb and opens a store with ``@override``'s checks off,
    and the package checks again afterwards (a class elsewhere is never left unchecked)."""
    code = f"""
import overrides
from toolwise.storage.clients import persistent_client
client = persistent_client(__import__("pathlib").Path({str(tmp_path)!r}))
client.get_or_create_collection("xyz").upsert(ids=["a"], embeddings=[[1.0, 2.0]])
class Base:
    def f(self, x: int) -> int:
        return x
try:
    class Child(Base):
        @overrides.override
        def f(self, x: int, y: int) -> int:
            return x
except TypeError:
    print("checked")
else:
    print("unchecked")
"""
    assert _run(code) == "checked"


def test_unchecked_overrides_marks_methods_and_restores_the_decorator() -> None:
    """Inside, ``@override`` (bare or with arguments) returns the method marked; outside, the
    package's own decorator is back."""
    import overrides

    from toolwise.storage.clients import unchecked_overrides

    original = overrides.override
    with unchecked_overrides():

        def bare() -> None: ...

        def called() -> None: ...

        assert overrides.override(bare) is bare
        assert overrides.override(check_signature=False)(called) is called
    assert getattr(bare, "__override__", False)
    assert getattr(called, "__override__", False)
    assert overrides.override is original


def test_an_overrides_package_of_another_shape_is_left_alone(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A version of ``overrides`` without the decorators we replace is not touched: the
    switch does nothing rather than fail the import of Chroma."""
    import overrides

    from toolwise.storage.clients import unchecked_overrides

    monkeypatch.delattr(overrides, "overrides")
    original = overrides.override
    with unchecked_overrides():
        assert overrides.override is original
    assert overrides.override is original


def test_a_clients_backend_is_imported_with_chroma_and_clients_are_made_checked() -> None:
    """The backend a client loads is imported under the same switch as chromadb (so making
    the client imports nothing more), and the switch is off again before any client is
    made: an HTTP client's constructor may wait on a server that never answers."""
    code = """
import sys, overrides
from toolwise.storage import clients
clients.import_chromadb(*clients._HTTP, *clients._EMBEDDED)
loaded = all(m in sys.modules for m in (*clients._HTTP, *clients._EMBEDDED))
before = set(sys.modules)
clients.ephemeral_client()
made_more = sorted(m for m in set(sys.modules) - before if m.startswith("chromadb"))
print(loaded, made_more, overrides.override.__module__)
"""
    assert _run(code) == "True [] overrides.overrides"
