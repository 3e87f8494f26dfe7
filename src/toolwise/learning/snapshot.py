"""A snapshot of the learnt view's state, so a new process need not relearn every record.

The view's whole state (:class:`~toolwise.learning.aggregates.Aggregates`: decayed evidence per
agent, tool, task type, environment and time bucket, change detectors and their windows, the
outage monitor, TTL ledger, seeds and counters) is sufficient statistics: a view restored from
it and fed the records after it answers as the view that learnt every record.

Format (version :data:`VERSION`): ``MAGIC`` + zlib-compressed pickle of the state, protocol 5;
a deque of floats (the latency and cost samples, most of a view's objects) is stored as the
bytes of an ``array('d')``, which loads several times faster than one pickled float at a time.
The state is an object graph (a charge is referenced by its evidence's window, the TTL ledger
and the outage monitor), which a hand-written JSON form would have to re-link field by field;
pickle keeps the links. Pickle also ties a snapshot to the code that made it (its classes'
attributes, the shape of their caches), and the learnt state depends on the learning rules as
much as on the records: so a snapshot is valid only for the same learning code *and* the same
configuration (:func:`fingerprint` digests both), and a view started by other code rebuilds
once instead of reading a layout or statistics it does not know. Because a snapshot is read
from a shared store, it is unpickled with a *restricted* unpickler (:class:`_Restricted`):
only toolwise's own learning classes and a few containers may be built, so a tampered
snapshot cannot run code. The learning configuration is not stored: it is supplied on load.
"""

from __future__ import annotations

import builtins
import hashlib
import io
import json
import pickle
import struct
import zlib
from array import array
from collections import deque
from importlib import metadata
from pathlib import Path
from typing import Any

from toolwise.learning.aggregates import Aggregates
from toolwise.learning.config import LearningConfig

__all__ = [
    "MAGIC",
    "VERSION",
    "SnapshotError",
    "dump_state",
    "fingerprint",
    "load_state",
    "pack",
    "unpack",
]

VERSION = 5
"""2: the aggregates keep their evidence in an ``EvidenceIndex`` read by a ``PosteriorReader``;
3: float samples stored as arrays, and the chunks kept in their rows' metadata
(``storage.snapshots``); 4: the index counted its writes; 5: it no longer does. A snapshot of
another version holds another layout and is skipped: the view is rebuilt once."""
MAGIC = b"TWSNAP5\n"

_SAFE_BUILTINS = frozenset(
    {"set", "frozenset", "dict", "list", "tuple", "float", "int", "str", "bool", "complex"}
)
_SAFE_MODULES = {
    "collections": frozenset({"deque", "Counter", "OrderedDict", "defaultdict"}),
    "copyreg": frozenset({"_reconstructor", "__newobj__"}),
    "zoneinfo": frozenset({"ZoneInfo"}),
    "datetime": frozenset({"timezone", "timedelta", "datetime"}),
}


class SnapshotError(ValueError):
    """The snapshot is corrupt, of an unknown version, or not made by toolwise."""


def fingerprint(config: LearningConfig) -> str:
    """A short digest of what a snapshot is valid for: the learning configuration and code."""
    digest = hashlib.sha256(config.model_dump_json().encode())
    digest.update(learning_code())
    return digest.hexdigest()[:16]


def learning_code() -> bytes:
    """A digest of the learning package's source (the pickled classes and the rules that
    filled them) as it was when this process imported it, or of toolwise's version where
    the sources are not shipped."""
    return _LEARNING_CODE


def _digest_learning_code() -> bytes:
    """Taken at import (~3 ms), not at first use: a process whose package is upgraded in
    place while it runs must stamp its snapshots with the code it runs."""
    package = Path(__file__).parent
    digest = hashlib.sha256()
    try:
        sources = sorted(package.rglob("*.py"))
        for source in sources:
            digest.update(source.relative_to(package).as_posix().encode() + b"\0")
            digest.update(source.read_bytes())
    except OSError:
        sources = []
    if not sources:  # a build without sources (or unreadable ones): the release names the code
        try:
            release = metadata.version("toolwise")
        except metadata.PackageNotFoundError:
            release = "unknown"
        digest = hashlib.sha256(f"toolwise {release}".encode())
    return digest.digest()


def dump_state(state: Aggregates) -> bytes:
    """Serialise ``state`` (call under the view's lock: it must not change meanwhile)."""
    buffer = io.BytesIO()
    pickler = _Pickler(buffer, protocol=5)
    pickler.config = state._config
    pickler.dump(state)
    return MAGIC + zlib.compress(buffer.getvalue(), 6)


def load_state(blob: bytes, config: LearningConfig) -> Aggregates:
    """Rebuild the state from :func:`dump_state`'s bytes, with ``config``.

    Raises:
        SnapshotError: the bytes are not a snapshot of this version, or are corrupt.
    """
    if not blob.startswith(MAGIC):
        raise SnapshotError(f"not a toolwise snapshot of version {VERSION}")
    try:
        raw = zlib.decompress(blob[len(MAGIC) :])
        unpickler = _Restricted(io.BytesIO(raw))
        unpickler.config = config
        state = unpickler.load()
    except SnapshotError:
        raise
    except Exception as exc:  # zlib.error, pickle.UnpicklingError, EOFError, AttributeError...
        raise SnapshotError(f"corrupt snapshot: {type(exc).__name__}: {exc}") from exc
    if not isinstance(state, Aggregates):
        raise SnapshotError(f"corrupt snapshot: holds a {type(state).__name__}")
    return state


def pack(ids: list[str], state: bytes) -> bytes:
    """One payload: the ids of records learnt near the watermark (replay skips them), then
    the state's bytes."""
    raw = zlib.compress(json.dumps(ids).encode(), 6)
    return struct.pack(">Q", len(raw)) + raw + state


def unpack(payload: bytes) -> tuple[list[str], bytes]:
    """:func:`pack`'s ids and state bytes.

    Raises:
        SnapshotError: the payload is corrupt.
    """
    try:
        (size,) = struct.unpack(">Q", payload[:8])
        ids = json.loads(zlib.decompress(payload[8 : 8 + size]))
    except (struct.error, zlib.error, ValueError) as exc:
        raise SnapshotError(f"corrupt snapshot: {exc}") from exc
    if not isinstance(ids, list) or not set(map(type, ids)) <= {str}:
        raise SnapshotError("corrupt snapshot: ids are not a list of strings")
    return ids, payload[8 + size :]


class _Pickler(pickle.Pickler):
    config: Any = None

    def persistent_id(self, obj: Any) -> str | None:
        return "config" if obj is self.config else None

    def reducer_override(self, obj: Any) -> Any:
        """A deque of floats as the bytes of an ``array('d')`` (see :func:`_floats`)."""
        if type(obj) is deque and obj and all(type(x) is float for x in obj):
            return _floats, (array("d", obj).tobytes(), obj.maxlen)
        return NotImplemented


def _floats(data: bytes, maxlen: int | None) -> deque[float]:
    """A deque of floats from :meth:`_Pickler.reducer_override`'s bytes (checked: this runs
    on a snapshot read from a shared store)."""
    if type(data) is not bytes or len(data) % 8 or not (maxlen is None or type(maxlen) is int):
        raise SnapshotError("corrupt snapshot: bad float samples")
    values = array("d")
    values.frombytes(data)
    return deque(values, maxlen)


def _safe_getattr(obj: Any, name: str) -> Any:
    """``getattr`` for bound methods only (pickle rebuilds them so); no dunder names."""
    if not isinstance(name, str) or name.startswith("__"):
        raise SnapshotError(f"corrupt snapshot: attribute {name!r}")
    return getattr(obj, name)


class _Restricted(pickle.Unpickler):
    """Builds only toolwise's learning classes and plain containers."""

    config: Any = None

    def persistent_load(self, pid: Any) -> Any:
        if pid == "config":
            return self.config
        raise SnapshotError(f"corrupt snapshot: reference {pid!r}")

    def find_class(self, module: str, name: str) -> Any:
        if module == "builtins":
            if name == "getattr":
                return _safe_getattr
            if name in _SAFE_BUILTINS:
                return getattr(builtins, name)
        elif module == __name__ and name == "_floats":
            return _floats
        elif module.startswith("toolwise.learning.") and not name.startswith("__"):
            found = super().find_class(module, name)
            if isinstance(found, type):  # classes only: a module's functions are not built
                return found
        elif name in _SAFE_MODULES.get(module, ()):
            return super().find_class(module, name)
        raise SnapshotError(f"corrupt snapshot: refuses {module}.{name}")


_LEARNING_CODE = _digest_learning_code()
