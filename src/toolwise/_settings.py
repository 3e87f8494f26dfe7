"""The settings of a :class:`~toolwise.Runtime`: their names and types, how each is checked
when the runtime is built (so a bad one fails at construction, naming itself), and how they
choose the outcome store."""

from __future__ import annotations

import os
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from toolwise._checks import check_int, check_path, check_seconds, check_text
from toolwise.errors import InvalidArgumentError
from toolwise.learning import LearningConfig
from toolwise.recording.judge import LLMJudge
from toolwise.recording.recorder import Durability
from toolwise.recording.redact import Redactor
from toolwise.storage.chroma import ChromaOutcomeStore
from toolwise.storage.clients import check_url, http_client, persistent_client
from toolwise.storage.embeddings import EmbeddingFunction
from toolwise.storage.health import StoreTimeouts
from toolwise.storage.protocol import OutcomeStore
from toolwise.storage.spool import FsyncPolicy

if TYPE_CHECKING:
    from toolwise.improve import ImproveConfig
    from toolwise.improve.protocols import ChatModel

__all__ = ["DEFAULT_TTL", "Settings", "check_settings", "open_store"]


DEFAULT_TTL = timedelta(days=30)


class Settings(TypedDict, total=False):
    """The knobs of a runtime (and of :class:`~toolwise.Toolwise`); see its docstring."""

    url: str | None
    client: Any | None
    store: OutcomeStore | None
    embedding: EmbeddingFunction | None
    ttl: timedelta | None
    redactor: Redactor | Literal["default"] | None
    spool_dir: str | Path | None
    fsync: FsyncPolicy
    durability: Durability
    batch_size: int
    max_payload_chars: int
    clock: Callable[[], datetime] | None
    timer: Callable[[], float] | None
    prefix: str
    learning: LearningConfig | None
    refresh_interval: float | None
    max_backoff: float
    timeouts: StoreTimeouts | None
    improve: ImproveConfig | None
    chat_model: ChatModel | None
    quality_judge: LLMJudge | None


def open_store(
    root: Path, settings: Settings, embedding: EmbeddingFunction
) -> tuple[OutcomeStore, bool]:
    """The outcome store the settings ask for, and whether it is a remote server."""
    store = settings.get("store")
    if store is not None:
        return store, False
    client, url = settings.get("client"), settings.get("url")
    timeouts = settings.get("timeouts")
    if client is not None:
        backing: Any = client
    elif url is not None:
        # Lazy: the server may be down at start; the store connects on first use.
        backing = lambda: http_client(url, timeouts=timeouts)  # noqa: E731
    else:
        backing = persistent_client(root / "chroma")
    prefix = settings.get("prefix", "toolwise")
    store = ChromaOutcomeStore(
        backing, embedding=embedding, prefix=prefix, timeouts=timeouts, owns_client=client is None
    )
    return store, url is not None


def check_settings(path: Any, settings: Settings) -> None:
    """Reject settings that cannot work, naming the field, before anything is opened."""
    given = [settings.get(name) for name in ("url", "client", "store")]
    if sum(value is not None for value in given) > 1:
        raise InvalidArgumentError(
            "url", settings.get("url"), "give only one of url, client or store"
        )
    if path is not None:
        check_path("path", path)
    elif os.environ.get("TOOLWISE_PATH"):  # the default root: named as the variable it is
        check_path("TOOLWISE_PATH", os.environ["TOOLWISE_PATH"])
    if settings.get("spool_dir") is not None:
        check_path("spool_dir", settings.get("spool_dir"))
    durability = settings.get("durability", "deferred")
    if durability not in ("deferred", "immediate"):
        raise InvalidArgumentError("durability", durability, "must be 'deferred' or 'immediate'")
    if "batch_size" in settings:
        check_int("batch_size", settings["batch_size"], minimum=1)
    if "max_payload_chars" in settings:
        check_int("max_payload_chars", settings["max_payload_chars"], minimum=1)
    ttl = settings.get("ttl")
    if ttl is not None and (not isinstance(ttl, timedelta) or ttl <= timedelta(0)):
        raise InvalidArgumentError("ttl", ttl, "must be a positive timedelta or None")
    if "max_backoff" in settings:
        check_seconds("max_backoff", settings["max_backoff"], positive=True)
    if settings.get("refresh_interval") is not None:
        check_seconds("refresh_interval", settings["refresh_interval"], positive=True)
    if "prefix" in settings:
        check_text("prefix", settings["prefix"], blank=False)
    for name in ("clock", "timer"):
        if settings.get(name) is not None and not callable(settings.get(name)):
            raise InvalidArgumentError(name, settings.get(name), "must be callable or None")
    quality_judge = settings.get("quality_judge")
    if quality_judge is not None and not isinstance(quality_judge, LLMJudge):
        raise InvalidArgumentError("quality_judge", quality_judge, "must be an LLMJudge")
    refresh = settings.get("refresh_interval")
    if refresh is not None and not refresh > 0:
        raise InvalidArgumentError("refresh_interval", refresh, "must be > 0 seconds or None")
    url = settings.get("url")
    if url is not None:
        check_text("url", url, blank=False)
        check_url(url)  # fail now, not forever inside the writer thread
