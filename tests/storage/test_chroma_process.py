"""A store directory served by a supervised ``chroma run`` child (the real binary)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, cast

import httpx
import pytest

from toolwise import Toolwise
from toolwise.errors import InvalidArgumentError
from toolwise.storage.chroma_process import _LOWER_GROUP, ChromaChild

_PATIENCE = 120.0  # a busy CI machine starts Chroma in seconds, not milliseconds


def _answers(url: str) -> bool:
    try:
        return httpx.get(f"{url}/api/v2/heartbeat", timeout=2.0).status_code == 200
    except httpx.HTTPError:
        return False


@pytest.fixture
def child(tmp_path: Path) -> Iterator[ChromaChild]:
    started = ChromaChild(tmp_path / "store")
    started.start()
    yield started
    started.stop()


def test_records_written_through_the_child_are_read_in_process_after_it_stops(
    child: ChromaChild,
) -> None:
    """The child serves the embedded layout: once stopped, ``Toolwise(path)`` reads it."""
    with Toolwise(child.path, url=child.url) as tw:
        for n in range(5):
            tw.record(tool="kubectl_deploy", latency_ms=n, agent_id="devops")
    child.stop()
    with Toolwise(child.path) as tw:
        assert tw.summary("devops").total_calls == 5


def test_a_child_that_dies_is_started_again_on_the_same_port(
    child: ChromaChild, eventually: Callable[..., bool]
) -> None:
    """Killed, it is back at the same URL, with another pid."""
    first = child.pid
    assert first is not None
    os.kill(first, signal.SIGKILL)
    assert eventually(lambda: child.restarts == 1 and _answers(child.url), _PATIENCE), (
        "the child answers again"
    )
    assert child.pid not in (None, first)


def test_stop_leaves_no_process_behind(child: ChromaChild, exited: Callable[[int], bool]) -> None:
    """After ``stop`` the child has exited, and it is not started again."""
    pid = child.pid
    assert pid is not None
    child.stop()
    assert exited(pid)
    assert child.pid is None
    assert child.restarts == 0


def test_the_child_dies_with_its_parent(
    tmp_path: Path, eventually: Callable[..., bool], exited: Callable[[int], bool]
) -> None:
    """A parent killed outright (no clean shutdown) takes its chroma child with it."""
    script = textwrap.dedent(
        f"""
        import time
        from pathlib import Path
        from toolwise.storage.chroma_process import ChromaChild
        child = ChromaChild(Path({str(tmp_path / "store")!r}))
        child.start()
        print(child.pid, flush=True)
        time.sleep(600)
        """
    )
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    try:
        assert parent.stdout is not None
        pid = int(parent.stdout.readline())
        assert not exited(pid)
    finally:
        parent.kill()
        parent.wait()
    assert eventually(lambda: exited(pid), _PATIENCE), "the orphaned child exits"


def test_a_child_that_cannot_start_says_why(tmp_path: Path) -> None:
    """A path Chroma cannot use fails ``start`` with the end of the child's log."""
    (tmp_path / "store").mkdir()
    (tmp_path / "store" / "chroma").write_text("a file where Chroma wants a directory")
    with pytest.raises(Exception, match="chroma child"):
        ChromaChild(tmp_path / "store").start()


def test_nice_outside_0_to_19_is_refused(tmp_path: Path) -> None:
    with pytest.raises(InvalidArgumentError) as caught:
        ChromaChild(tmp_path, nice=20)
    assert caught.value.field == "nice"


def test_the_child_runs_at_the_nice_value_asked_for(tmp_path: Path) -> None:
    """``nice=5``: the child's CPU priority is five steps below its parent's."""
    child = ChromaChild(tmp_path / "store", nice=5)
    child.start()
    try:
        assert child.pid is not None
        fields = Path(f"/proc/{child.pid}/stat").read_text().rsplit(")", 1)[1].split()
        assert int(fields[16]) == min(os.nice(0) + 5, 19)  # the 19th field of stat: nice
    finally:
        child.stop()


def _group_nice(pid: int | str) -> int | None:
    """The nice of a process's session group (``/proc/PID/autogroup``: "/autogroup-N nice K"),
    or ``None`` where the kernel or container does not report one."""
    try:
        words = Path(f"/proc/{pid}/autogroup").read_text().split()
    except OSError:
        return None
    return int(words[-1]) if len(words) >= 2 and words[-2] == "nice" else None


def _lower_group() -> Callable[[str, str, int], bool]:
    """The child's group-lowering function, as the child runs it."""
    scope: dict[str, Any] = {}
    exec(_LOWER_GROUP, scope)
    return cast(Callable[[str, str, int], bool], scope["lower_group"])


@pytest.mark.parametrize(
    "parent_text",
    ["", "\n", "/autogroup-7", "nice", "/autogroup-7 nice", "/autogroup-7 nice x", "garbage"],
)
def test_an_unreadable_parent_group_leaves_the_childs_group_alone(
    tmp_path: Path, parent_text: str
) -> None:
    """Containers report autogroups oddly (an empty file broke every child start on one CI
    machine): the child then keeps its group and starts Chroma as usual."""
    parent, own = tmp_path / "parent", tmp_path / "own"
    parent.write_text(parent_text)
    own.write_text("untouched")
    assert _lower_group()(str(parent), str(own), 10) is False
    assert own.read_text() == "untouched"


def test_a_missing_or_read_only_group_file_is_not_an_error(tmp_path: Path) -> None:
    lower_group = _lower_group()
    assert lower_group(str(tmp_path / "absent"), str(tmp_path / "own"), 10) is False
    parent = tmp_path / "parent"
    parent.write_text("/autogroup-7 nice 0\n")
    assert lower_group(str(parent), str(tmp_path / "no" / "such" / "dir"), 10) is False


def test_the_group_is_set_that_many_steps_below_the_parents_at_most_19(tmp_path: Path) -> None:
    parent, own = tmp_path / "parent", tmp_path / "own"
    parent.write_text("/autogroup-2712 nice 3\n")
    assert _lower_group()(str(parent), str(own), 10) is True
    assert own.read_text() == "13"
    assert _lower_group()(str(parent), str(own), 18) is True
    assert own.read_text() == "19"


def _autogroups_work() -> bool:
    """Whether this kernel groups sessions and lets a session lower its own group (some
    containers report the files empty or ignore writes); probed in a session of its own."""
    if _group_nice("self") is None:
        return False
    try:
        probe = subprocess.run(
            ["setsid", "sh", "-c", "echo 3 > /proc/self/autogroup && cat /proc/self/autogroup"],
            capture_output=True,
            text=True,
            check=False,
        )
    except OSError:  # no setsid
        return False
    return probe.stdout.split()[-2:] == ["nice", "3"]


@pytest.mark.skipif(
    not _autogroups_work(),
    reason="no Linux autogroups here (or not settable): sessions share the cores by nice alone",
)
def test_the_childs_session_group_is_as_far_below_the_parents(tmp_path: Path) -> None:
    """With autogroups the kernel shares cores between sessions before it weighs nice; the
    child's session is its own, so its group must be niced too or ``nice`` does nothing."""
    child = ChromaChild(tmp_path / "store", nice=5)
    child.start()
    try:
        assert child.pid is not None
        parents = _group_nice("self")
        assert parents is not None
        assert _group_nice(child.pid) == min(parents + 5, 19)
    finally:
        child.stop()
