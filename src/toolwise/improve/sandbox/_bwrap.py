"""What this machine can enforce, and the bubblewrap command line that enforces it.

bubblewrap (``bwrap``, packaged by every major distribution, used by Flatpak) does the work:
new user, pid, network, ipc, uts and cgroup namespaces (``--unshare-all``), a read-only bind
of ``/`` (writable at level ``restricted``), private ``/dev``, ``/proc`` and ``/run``, every
capability dropped, and ``--die-with-parent``. toolwise only chooses what the child sees:

* **hidden** (an empty tmpfs over them): ``/home``, ``/root``, the agent's ``$HOME``, ``/run``
  (sockets such as ``docker.sock`` live there) and, at level ``sandbox``, ``/tmp`` and
  ``/var/tmp``;
* **visible again** (bound back inside a hidden directory, read-only at ``sandbox``): what the
  child needs to import the steps — the interpreter, ``sys.path`` and the working directory —
  but never a hidden directory itself (a working directory equal to ``$HOME`` stays hidden);
* **protected** (hidden last, even inside a visible directory): toolwise's own data — the
  default store root and whatever the caller names — so no level can read or forge records.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

__all__ = ["CHILD_SCRIPT", "NOBODY", "SandboxSupport", "available", "bwrap_argv", "unavailable"]

CHILD_SCRIPT = Path(__file__).with_name("_child.py")
NOBODY = 65534  # the conventional unprivileged uid/gid; owns nothing
HOME_INSIDE = "/run/home"
ALWAYS = (
    "fresh interpreter (exec, not a fork of the agent)",
    "no inherited file descriptors but its pipes",
    "scrubbed environment and HOME",
    "resource limits (address space, CPU, open files, processes, file size)",
    "own process group, killed whole",
)
FROM_BWRAP = (
    "no network (own network namespace)",
    "read-only filesystem view at level sandbox",
    "home directories, /run and toolwise's data hidden",
    "own pid namespace (no process outlives the call)",
    "no capabilities, no_new_privs",
)


@dataclass(frozen=True, slots=True)
class SandboxSupport:
    """What this machine enforces for sandboxed calls, found once by running a probe.

    ``available`` is False when the minimum set (everything in ``protections`` but the
    unprivileged uid) cannot be had: the ``sandbox`` and ``restricted`` levels are then
    refused, never run with less.
    """

    available: bool
    protections: tuple[str, ...] = ()
    missing: tuple[str, ...] = ()
    reason: str = ""
    bwrap: str | None = None
    privileged: bool = False
    """bubblewrap runs as root without a user namespace, and level ``sandbox`` as nobody."""

    def describe(self) -> str:
        """One line for the log: what is active, or why the sandbox is refused."""
        if not self.available:
            return (
                f"toolwise sandbox unavailable ({self.reason}): composites cannot run at levels "
                f"sandbox or restricted; missing: {'; '.join(self.missing)}"
            )
        return f"toolwise sandbox active via {self.bwrap}: " + "; ".join(self.protections)


def _existing(paths: Iterable[Path]) -> list[Path]:
    return [p for p in paths if p.exists()]


def _under(path: Path, root: Path) -> bool:
    return path == root or root in path.parents


_SHARED_SCRATCH = (Path("/tmp"), Path("/var/tmp"), Path("/run"))


def hidden_roots(*, writable: bool) -> list[Path]:
    """Directories the child sees empty (see the module docstring)."""
    roots = [Path("/home"), Path("/root"), Path("/run")]
    home = os.environ.get("HOME")
    if home and Path(home).resolve() != Path("/"):
        roots.append(Path(home).resolve())
    if not writable:
        roots += [Path("/tmp"), Path("/var/tmp")]
    return _existing(dict.fromkeys(roots))


def _needed() -> list[Path]:
    """What the child reads to start and to import the steps."""
    paths = [Path(p or os.getcwd()) for p in sys.path]
    paths += [Path(sys.prefix), Path(sys.base_prefix), Path(sys.exec_prefix), Path.cwd()]
    paths += [Path(sys.executable).parent, Path(os.path.realpath(sys.executable)).parent]
    paths.append(CHILD_SCRIPT.parent)
    return [p.resolve() for p in paths]


def _visible_again(hidden: Sequence[Path]) -> list[Path]:
    found: list[Path] = []
    for path in _existing(dict.fromkeys(_needed())):
        if any(_under(root, path) for root in hidden):
            continue  # a hidden directory itself, or one of its ancestors: stays hidden
        if not any(_under(path, root) for root in hidden):
            continue  # visible anyway
        found.append(path)
    found.sort(key=_depth)
    kept: list[Path] = []
    for path in found:
        if not any(_under(path, k) for k in kept):
            kept.append(path)
    return kept


def _masks(
    protected: Iterable[Path], hidden: Sequence[Path], visible: Sequence[Path]
) -> list[Path]:
    """The protected directories that need a tmpfs of their own: existing, not hidden
    already, not inside another one, and not holding what the child needs to start."""
    needed = _needed()
    kept: list[Path] = []
    for path in sorted(_existing(dict.fromkeys(p.resolve() for p in protected)), key=_depth):
        if any(_under(path, k) for k in kept) or any(_under(n, path) for n in needed):
            continue
        if any(_under(path, r) for r in hidden) and not any(_under(path, v) for v in visible):
            continue
        kept.append(path)
    return kept


def _depth(path: Path) -> int:
    return len(path.parts)


def bwrap_argv(
    bwrap: str,
    *,
    writable: bool,
    privileged: bool,
    drops_to_nobody: bool,
    protected: Iterable[Path],
    info_fd: int,
) -> tuple[list[str], list[int]]:
    """The ``bwrap`` arguments (up to ``--``) for one call at a level, and the descriptors
    to pass to it (the caller closes them once bubblewrap has started).

    Paths bound back into hidden directories travel as ``O_PATH`` descriptors the agent
    opened. Two modes:

    * **unprivileged** (the agent is not root, or root without a usable privileged mode): a
      new user namespace too, every capability dropped;
    * **privileged** (the agent is root): no user namespace — inside one, uid 0 would still
      be uid 0 to the kernel, which exempts it from ``RLIMIT_NPROC`` and lets it read root's
      files. Every capability is dropped except ``CAP_SETUID``/``CAP_SETGID`` when
      ``drops_to_nobody``, which the child uses once, before any untrusted code, to become
      nobody (and so loses them). ``no_new_privs`` is set either way.

    Args:
        bwrap: the executable.
        writable: the ``restricted`` level (``/`` bound read-write as the agent's user).
        privileged: the mode (see above).
        drops_to_nobody: keep the two capabilities the child needs to drop to nobody.
        protected: directories hidden last, even inside a visible one.
        info_fd: where bubblewrap writes the sandbox's pid (to kill it whole).
    """
    if privileged:
        namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
        namespaces.append("--unshare-cgroup-try")
    else:
        namespaces = ["--unshare-all"]
    argv = [bwrap, *namespaces, "--die-with-parent", "--cap-drop", "ALL"]
    if drops_to_nobody:
        argv += ["--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID"]
    argv += ["--bind" if writable else "--ro-bind", "/", "/"]
    argv += ["--dev", "/dev", "--proc", "/proc"]
    hidden = hidden_roots(writable=writable)
    for root in hidden:
        shared = root in _SHARED_SCRATCH  # /tmp-like: anyone may write, as on the host
        argv += [*(["--perms", "1777"] if shared else []), "--tmpfs", str(root)]
    bind = "--bind-fd" if writable else "--ro-bind-fd"
    visible = _visible_again(hidden)
    fds: list[int] = []
    try:
        made: set[Path] = set()
        for path in visible:
            for parent in reversed(path.parents):  # bubblewrap would make them 0700
                if parent not in made and any(root in parent.parents for root in hidden):
                    argv += ["--perms", "0755", "--dir", str(parent)]
                    made.add(parent)
            fds.append(os.open(path, os.O_PATH | os.O_CLOEXEC))
            argv += [bind, str(fds[-1]), str(path)]
    except OSError:
        for fd in fds:
            os.close(fd)
        raise
    for path in _masks(protected, hidden, visible):
        argv += ["--tmpfs", str(path)]
    argv += ["--perms", "1777", "--dir", HOME_INSIDE, "--chdir", str(Path.cwd().resolve())]
    argv += ["--clearenv", "--setenv", "HOME", HOME_INSIDE, "--setenv", "PATH", "/usr/bin:/bin"]
    argv += ["--setenv", "LANG", "C.UTF-8", "--info-fd", str(info_fd)]
    return argv, fds


def unavailable(reason: str, bwrap: str | None = None) -> SandboxSupport:
    """The support of a machine that cannot give the minimum set, and why."""
    return SandboxSupport(False, ALWAYS, FROM_BWRAP, reason=reason, bwrap=bwrap)


def available(bwrap: str, *, privileged: bool) -> SandboxSupport:
    """The support of a machine where the probe ran under ``bwrap`` in this mode."""
    extra = ("level sandbox runs as uid nobody, not root",) if privileged else ()
    return SandboxSupport(True, ALWAYS + FROM_BWRAP + extra, (), "", bwrap, privileged)
