"""``Toolwise``: the one object users build. It wires store, spool, writer and integrations."""

from __future__ import annotations

import atexit
import logging
import threading
import weakref
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from toolwise._summary import summarize
from toolwise.errors import InvalidArgumentError, SpoolError
from toolwise.models import ToolOutcome, UsageSummary, utcnow
from toolwise.recording.context import RecordingDefaults
from toolwise.recording.judge import Judge
from toolwise.recording.recorder import Recorder
from toolwise.recording.redact import Redactor, SecretRedactor
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import default_root, http_client, persistent_client
from toolwise.storage.embeddings import EmbeddingFunction, HashingEmbedding
from toolwise.storage.protocol import CallFilter, OutcomeStore
from toolwise.storage.spool import FsyncPolicy, Spool
from toolwise.storage.writer import BackgroundWriter, WriterCounters

if TYPE_CHECKING:
    from toolwise.recording.callback import ToolwiseCallbackHandler

__all__ = ["Toolwise"]

log = logging.getLogger("toolwise")

_DEFAULT_TTL = timedelta(days=30)
_READ_FLUSH_TIMEOUT = 5.0


class Toolwise:
    """Records every tool call, learns from the outcomes and briefs the model.

    Args:
        path: directory of the embedded store and the spool (default ``$TOOLWISE_PATH`` or
            ``./.toolwise``). One process at a time per path: use ``url`` for several.
        url: a ``chroma run`` server (``http://127.0.0.1:8000``); the spool stays local.
        client: any Chroma client (e.g. ``chromadb.EphemeralClient()`` in tests).
        store: a custom :class:`~toolwise.storage.protocol.OutcomeStore` (overrides the above).
        embedding: vectors for records and queries; offline hashing by default.
        ttl: how long records live (default 30 days); ``None`` keeps them until forgotten.
        redactor: cleans inputs/outputs before storage; default redacts secrets; ``None`` off.
        spool_dir: where the durable spool lives (default ``<path>/spool``).
        fsync: spool durability policy, see :mod:`toolwise.storage.spool`.
        batch_size: records per store write.
        max_payload_chars: inputs and outputs are truncated to this, with a marker.
        clock: returns "now" (UTC); inject for reproducible learning and instant tests.

    Thread-safe. Recording never raises into the agent: failures are logged and counted in
    :attr:`counters`. Use as a context manager, or call :meth:`close` (also run at exit).
    """

    def __init__(
        self,
        path: str | Path | None = None,
        *,
        url: str | None = None,
        client: Any | None = None,
        store: OutcomeStore | None = None,
        embedding: EmbeddingFunction | None = None,
        ttl: timedelta | None = _DEFAULT_TTL,
        redactor: Redactor | Literal["default"] | None = "default",
        spool_dir: str | Path | None = None,
        fsync: FsyncPolicy = "interval",
        batch_size: int = 500,
        max_payload_chars: int = 2_000,
        clock: Callable[[], datetime] | None = None,
        prefix: str = "toolwise",
    ) -> None:
        if sum(x is not None for x in (url, client, store)) > 1:
            raise InvalidArgumentError("url", url, "give only one of url, client or store")
        if batch_size < 1:
            raise InvalidArgumentError("batch_size", batch_size, "must be at least 1")
        if ttl is not None and ttl <= timedelta(0):
            raise InvalidArgumentError("ttl", ttl, "must be positive or None")
        root = Path(path) if path is not None else default_root()
        self.embedding: EmbeddingFunction = embedding or HashingEmbedding()
        self._clock = clock or utcnow
        if store is None:
            if client is not None:
                backing: Any = client
            elif url is not None:
                backing = lambda: http_client(url)  # noqa: E731 - lazy: the server may be down
            else:
                backing = persistent_client(root / "chroma")
            store = ChromaOutcomeStore(backing, embedding=self.embedding, prefix=prefix)
        self.store: OutcomeStore = store
        self.ttl = ttl
        self._redactor: Redactor | None = SecretRedactor() if redactor == "default" else redactor
        self._spool = Spool(
            Path(spool_dir) if spool_dir is not None else root / "spool", fsync=fsync
        )
        self._writer = BackgroundWriter(
            self._spool, self.store, batch_size=batch_size, housekeeping=self.purge_expired
        )
        self.recorder = Recorder(
            self._sink,
            redactor=self._redactor,
            ttl=ttl,
            max_payload_chars=max_payload_chars,
            on_invalid=lambda _exc: self._writer.notify_invalid(),
        )
        self._closed = False
        self._close_lock = threading.Lock()
        _live.add(self)

    # -- the write path -----------------------------------------------------------------------

    def _sink(self, outcome: ToolOutcome) -> None:
        """Spool one record and tell the learners. Never raises (the hot path of tool calls)."""
        self._writer.reserve()
        try:
            self._spool.append(outcome)
        except SpoolError as exc:
            self._writer.notify_dropped(exc)
            log.error("toolwise: RECORD LOST — the spool cannot be written: %s", exc)
            return
        self._writer.notify_spooled()
        self._observe(outcome)

    def _observe(self, outcome: ToolOutcome) -> None:
        """Hook for the learning view (kept cheap: it runs on every tool call)."""

    def record(self, outcome: ToolOutcome | None = None, /, **fields: Any) -> ToolOutcome:
        """Record an outcome you judged yourself (no LangChain needed).

        Pass a :class:`ToolOutcome` or its fields (``tool=``, ``outcome=``, ``latency_ms=`` …).
        ``expires_at`` defaults to ``timestamp + ttl``.

        Raises:
            InvalidArgumentError: a field is invalid; ``.field`` names it.
            SpoolError: the record could not be made durable.
        """
        if outcome is None:
            outcome = ToolOutcome(**fields)
        elif fields:
            raise InvalidArgumentError("fields", sorted(fields), "give a ToolOutcome or fields")
        if outcome.expires_at is None and self.ttl is not None:
            outcome = outcome.model_copy(update={"expires_at": outcome.timestamp + self.ttl})
        self._writer.reserve()
        try:
            self._spool.append(outcome)
        except SpoolError as exc:
            self._writer.notify_dropped(exc)
            raise
        self._writer.notify_spooled()
        self._observe(outcome)
        return outcome

    @property
    def counters(self) -> WriterCounters:
        """recorded, written, retried, pending, dropped (0 unless the spool failed), invalid."""
        return self._writer.counters

    def flush(self, timeout: float | None = None) -> bool:
        """Block until every record so far is in the store; False if ``timeout`` ran out."""
        return self._writer.flush(timeout)

    def close(self, timeout: float = 10.0) -> bool:
        """Drain the spool (up to ``timeout`` s) and stop; what is left is written next start."""
        with self._close_lock:
            if self._closed:
                return True
            self._closed = True
        drained = self._writer.close(timeout)
        self.store.close()
        _live.discard(self)
        return drained

    def __enter__(self) -> Toolwise:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- entry points -------------------------------------------------------------------------

    def defaults(
        self,
        *,
        agent_id: str = "default",
        task_type: str = "",
        environment: str = "",
        tags: Sequence[str] = (),
        judge: Judge | None = None,
        costs: Mapping[str, float] | None = None,
    ) -> RecordingDefaults:
        """The labels an entry point puts on its records (validated now, not per call)."""
        from toolwise.storage.naming import collection_name_for

        collection_name_for(agent_id)  # raises InvalidAgentIdError naming agent_id
        for tool, cost in (costs or {}).items():
            if not cost >= 0.0 or cost == float("inf"):
                raise InvalidArgumentError(f"costs[{tool!r}]", cost, "must be finite and >= 0")
        return RecordingDefaults(
            agent_id=agent_id,
            task_type=task_type,
            environment=environment,
            tags=tuple(tags),
            judge=judge,
            costs=dict(costs or {}),
        )

    def callback(self, **labels: Any) -> ToolwiseCallbackHandler:
        """A LangChain callback handler that records every tool call it sees.

        Accepts the keyword arguments of :meth:`defaults`. Add it once, e.g.
        ``agent.invoke(inputs, config={"callbacks": [tw.callback(agent_id="devops")]})``.
        """
        from toolwise.recording.callback import ToolwiseCallbackHandler

        return ToolwiseCallbackHandler(self.recorder, self.defaults(**labels))

    # -- the tracking API ---------------------------------------------------------------------

    def _read_ready(self) -> datetime:
        self.flush(timeout=_READ_FLUSH_TIMEOUT)  # read-your-writes when the store is up
        return self._clock()

    def list_calls(
        self,
        agent_id: str = "default",
        *,
        tool: str | None = None,
        session_id: str | None = None,
        task_type: str | None = None,
        environment: str | None = None,
        success_only: bool = False,
        since: datetime | None = None,
        limit: int = 50,
        offset: int = 0,
    ) -> list[ToolOutcome]:
        """Recorded calls, newest first, filtered and paged; expired records never appear."""
        if not 1 <= limit <= 1_000:
            raise InvalidArgumentError("limit", limit, "must be between 1 and 1000")
        if offset < 0:
            raise InvalidArgumentError("offset", offset, "must be >= 0")
        now = self._read_ready()
        call_filter = CallFilter(
            tool=tool,
            session_id=session_id,
            task_type=task_type,
            environment=environment,
            success_only=success_only,
            since=since,
        )
        return self.store.find(agent_id, call_filter, limit=limit, offset=offset, now=now)

    def get_call(self, call_id: str, *, agent_id: str | None = None) -> ToolOutcome | None:
        """One record by id (searching every agent unless ``agent_id`` is given)."""
        now = self._read_ready()
        found = [o for o in self.store.get([call_id], agent_id=agent_id) if not o.is_expired(now)]
        return found[0] if found else None

    def summary(
        self, agent_id: str | None = None, *, since: datetime | None = None
    ) -> UsageSummary:
        """Totals and per-tool call count, success rate, latency mean/p50/p95 and cost."""
        now = self._read_ready()
        return summarize(
            self.store.iter_outcomes(agent_id, since=since, now=now),
            agent_id=agent_id,
            since=since,
        )

    def forget(
        self,
        agent_id: str = "default",
        *,
        tool: str | None = None,
        ids: Sequence[str] | None = None,
    ) -> int:
        """Delete records: a retired ``tool``'s, specific ``ids``, or (neither) the agent's all.

        Pending records are flushed first so nothing forgotten reappears from the spool.
        Returns how many records were deleted.
        """
        if tool is not None and ids is not None:
            raise InvalidArgumentError("ids", ids, "give tool or ids, not both")
        self.flush(timeout=_READ_FLUSH_TIMEOUT)
        return self.store.delete(agent_id, tool=tool, ids=ids)

    def purge_expired(self) -> int:
        """Delete every record whose TTL has passed; runs periodically in the background too."""
        return self.store.purge_expired(self._clock())


_live: weakref.WeakSet[Toolwise] = weakref.WeakSet()


@atexit.register
def _close_all_at_exit() -> None:
    for instance in list(_live):
        try:
            instance.close(timeout=5.0)
        except Exception as exc:  # exit must go on; the spool keeps what was not written
            log.warning("toolwise: close at exit failed: %s", exc)
