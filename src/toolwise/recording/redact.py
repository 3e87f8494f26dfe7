"""Make tool inputs and outputs safe and small before anything is stored.

Secrets are replaced by ``[REDACTED]``: values under secret-looking keys in mappings and in
text (``token=…`` in URLs, ``"api_key": "…"`` in JSON, ``Authorization: …`` headers,
``--password …`` flags), about 60 token shapes (cloud, VCS and CI tokens, webhooks, payment
and model-API keys, JWTs, private keys, URL credentials) and high-entropy values under
ambiguous keys (``signing_key``, ``client-key-data``). The detectors live in
:mod:`toolwise.recording.secrets`; ``docs/recording.md`` lists what is covered and what is not.
Payloads are cut to a bounded size with a visible marker. The walk is bounded in depth, items
and characters, so a huge or cyclic payload costs little and nothing here ever raises into a
tool call.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from toolwise.recording.secrets import (
    DEFAULT_ENTROPY_KEYS,
    DEFAULT_FORMATS,
    DEFAULT_SECRET_KEYS,
    DEFAULT_WORD_KEYS,
    KeyRules,
    SecretFormat,
    SecretScanner,
)

__all__ = [
    "DEFAULT_SECRET_KEYS",
    "REDACTED",
    "Redactor",
    "SecretFormat",
    "SecretRedactor",
    "redact_identifier",
    "to_safe_text",
]

REDACTED = "[REDACTED]"
TRUNCATED = "…[truncated {n} chars]"

Redactor = Callable[[Any], Any]
"""A callable that returns a redacted copy of a payload (dicts, lists, strings, scalars)."""

_MAX_DEPTH = 6
_MAX_ITEMS = 64
_LOOKAHEAD = 4_096  # a secret that starts before a cut is still matched whole
_CACHED_CHARS = 256
_CACHE_SIZE = 8_192
_SHORTEST_KEY_SECRET = 16  # no token shape is shorter: shorter mapping keys are not scanned
_UUID = re.compile(r"[0-9a-fA-F]{8}-?(?:[0-9a-fA-F]{4}-?){3}[0-9a-fA-F]{12}")


@dataclass(frozen=True)
class SecretRedactor:
    """Default redactor: secret keys, token shapes and your own patterns; on by default.

    Args:
        keys: key names (case-insensitive substrings) whose values are always redacted, both
            in mappings and in text (``key=value``, ``"key": "value"``, ``Key: value``,
            ``--key value``). Names that only look secret (``author``, ``total_tokens``,
            ``secretName``) are left alone.
        patterns: extra regular expressions whose matches in any string are redacted.
        max_leaf_chars: strings longer than this are cut (with a marker); the detectors see
            only the kept part plus a bounded look-ahead, so a long string costs little.
        entropy_keys: key words whose values are redacted only when they look like
            credentials (long, token characters, high entropy): ``key``, ``signature`` …
        formats: the token shapes recognised anywhere; ``()`` turns them off.
        word_keys: short key words (``pw``, ``pass``) whose values are always redacted when
            the word is a whole part of the key name (``DB_PASS``), never inside another
            word (``bypass``); ``()`` turns them off.
    """

    keys: tuple[str, ...] = DEFAULT_SECRET_KEYS
    patterns: tuple[str, ...] = ()
    max_leaf_chars: int = 8_192
    entropy_keys: tuple[str, ...] = DEFAULT_ENTROPY_KEYS
    formats: tuple[SecretFormat, ...] = DEFAULT_FORMATS
    word_keys: tuple[str, ...] = DEFAULT_WORD_KEYS
    _rules: KeyRules = field(init=False, repr=False, compare=False)
    _scanner: SecretScanner = field(init=False, repr=False, compare=False)
    _clean: dict[str, None] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        rules = KeyRules(
            secret_keys=tuple(self.keys),
            entropy_keys=tuple(self.entropy_keys),
            word_keys=tuple(self.word_keys),
        )
        object.__setattr__(self, "_rules", rules)
        scanner = SecretScanner(
            formats=tuple(self.formats), keys=rules, patterns=tuple(self.patterns)
        )
        object.__setattr__(self, "_scanner", scanner)
        # Short strings found clean: tool arguments repeat ("prod", "web", image names), and
        # a hit costs ~0.1 µs against ~8 µs for a scan. Only clean strings are kept, so the
        # cache never holds a secret; it is cleared when full (dict operations are atomic).
        object.__setattr__(self, "_clean", {})

    def with_keys(self, extra: Iterable[str]) -> SecretRedactor:
        """A copy that also redacts values under ``extra`` keys."""
        return dataclasses.replace(self, keys=(*self.keys, *extra))

    def is_secret_key(self, key: object) -> bool:
        """Whether every value under ``key`` is redacted (not only credential-like ones)."""
        return self._rules.kind(key) == "secret"

    def redact_text(self, text: str, limit: int | None = None) -> str:
        """``text`` with its secrets replaced, cut at ``limit`` (default ``max_leaf_chars``)."""
        body, dropped = self._redact_window(text, limit)
        return body + TRUNCATED.format(n=dropped) if dropped else body

    def _redact_window(self, text: str, limit: int | None) -> tuple[str, int]:
        """Redacted text up to ``limit`` original characters, and how many were left out.

        Cutting first and matching after would leave the head of a secret that straddles the
        cut unmatched (too short for its pattern) and stored in clear: match across the cut.
        """
        cut = self.max_leaf_chars if limit is None else min(limit, self.max_leaf_chars)
        short = len(text) <= min(cut, _CACHED_CHARS)
        if short and text in self._clean:
            return text, 0
        window = text if len(text) <= cut else text[: cut + _LOOKAHEAD]
        spans = self._scanner.spans(window)
        if short and not spans:
            if len(self._clean) >= _CACHE_SIZE:
                self._clean.clear()
            self._clean[text] = None
            return text, 0
        stop = min(len(text), cut)
        parts: list[str] = []
        pos = 0
        for start, end in spans:
            if start >= stop:
                break
            parts.extend((window[pos:start], REDACTED))
            pos = end
        if pos < stop:
            parts.append(window[pos:stop])
            pos = stop
        return "".join(parts), len(text) - pos

    def __call__(self, value: Any) -> Any:
        return self._walk(value, 0)

    def _walk(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if depth >= _MAX_DEPTH:
            if isinstance(value, Mapping | list | tuple | set | frozenset):
                # Not its repr: a secret key in a repr'd container ('password': [...]) is not
                # reliably found by text patterns, and this depth is rarely worth storing.
                return f"[nested deeper than {_MAX_DEPTH}: {type(value).__name__}]"
            return self.redact_text(_short_repr(value))
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for i, (k, v) in enumerate(value.items()):
                if i >= _MAX_ITEMS:
                    out["…"] = f"{len(value) - _MAX_ITEMS} more keys"
                    break
                key = str(k)
                if len(key) >= _SHORTEST_KEY_SECRET:  # a key can be the secret ({token: user})
                    key = self.redact_text(key, 256)
                out[key] = REDACTED if self._rules.hides(k, v) else self._walk(v, depth + 1)
            return out
        if isinstance(value, list | tuple | set | frozenset):
            items = list(value)[:_MAX_ITEMS]
            walked = [self._walk(v, depth + 1) for v in items]
            if len(value) > _MAX_ITEMS:
                walked.append(f"… {len(value) - _MAX_ITEMS} more items")
            return walked
        content = getattr(value, "content", None)  # messages (ToolMessage, AIMessage)
        if isinstance(content, str | list):
            return self._walk(content, depth + 1)
        return self.redact_text(_short_repr(value))


def _cut(text: str, limit: int) -> str:
    return text[:limit] + TRUNCATED.format(n=len(text) - limit)


def printable(value: Any) -> str:
    """``str(value)``, or ``<unprintable Type>`` when its ``__str__`` raises: the text of a
    tool's output or error must never break the tool call or lose its record."""
    try:
        return str(value)
    except Exception:
        return f"<unprintable {type(value).__name__}>"


def _short_repr(value: Any, limit: int = 4_096) -> str:
    return printable(value)[:limit]


def _message_content(value: Any) -> Any:
    """A ``ToolMessage``'s content (what the tool said), else ``value``. An object whose
    attributes raise (a remote proxy's ``__getattr__``) is kept as the object."""
    try:
        content = getattr(value, "content", None)
        if isinstance(content, str | list) and hasattr(value, "type"):
            return content
    except Exception:
        pass
    return value


def _no_redaction(value: Any) -> Any:
    return value


_SCALARS = frozenset({int, float, bool})


def redact_identifier(value: str, redactor: Redactor | None) -> str:
    """``value``, or ``redacted-<digest>`` when it holds a secret.

    Identifiers (a session, run or tool-call id) join records to each other, so they are not
    rewritten like text: that would cut them or make distinct ids equal. But a caller can pass
    a token as a session id, and it must not reach disk. An identifier the redactor changes
    is replaced by a digest of it: the same id always maps to the same digest (runs still
    join), and the secret is not stored. UUIDs, the usual ids, carry no secret shape and
    are not scanned (saves ~10 µs per fresh id). Never raises; a failing redactor yields the
    digest, never the raw value.
    """
    if redactor is None or len(value) < _SHORTEST_KEY_SECRET or _UUID.fullmatch(value):
        return value
    try:
        if isinstance(redactor, SecretRedactor):
            clean = redactor.redact_text(value) == value
        else:
            clean = redactor(value) == value
    except Exception:
        clean = False
    if clean:
        return value
    digest = hashlib.blake2b(value.encode("utf-8", "surrogatepass"), digest_size=8)
    return f"redacted-{digest.hexdigest()}"


def to_safe_text(value: Any, redactor: Redactor | None, max_chars: int) -> str:
    """Redact, then render as JSON (or text when not JSON-able), cut to ``max_chars``.

    Never raises: anything that cannot be rendered becomes a short type description.
    """
    # Not `value == ""`: arrays and dataframes compare element-wise and their truth value
    # raises, which would lose the record of a tool that returned one.
    if value is None or (isinstance(value, str) and not value):
        return ""
    if type(value) in _SCALARS:  # numbers cannot hold secrets: skip the walk
        try:
            text = str(value)
        except ValueError:  # an int past Python's 4,300-digit limit for str()
            return f"<unrenderable {type(value).__name__}>"
        if len(text) <= max_chars:
            return text
        return text[:max_chars] + TRUNCATED.format(n=len(text) - max_chars)
    value = _message_content(value)
    if isinstance(value, str) and isinstance(redactor, SecretRedactor):
        # Only the first max_chars can be stored: scan just those (plus the look-ahead).
        try:
            body, dropped = redactor._redact_window(value, max_chars)
        except Exception:
            return f"<unrenderable {type(value).__name__}>"
        if len(body) > max_chars:  # replacements can lengthen the text
            dropped += len(body) - max_chars
            body = body[:max_chars]
        return body + TRUNCATED.format(n=dropped) if dropped else body
    try:
        cleaned = (redactor or _no_redaction)(value)
    except Exception:  # never fall back to the raw value: it is what the redactor was for
        return f"<unrenderable {type(value).__name__}>"
    try:
        if isinstance(cleaned, str):
            text = cleaned
        elif isinstance(cleaned, bool | int | float):
            text = str(cleaned)
        else:
            text = json.dumps(cleaned, default=str)
    except Exception:  # cycles, non-string keys: keep the (already redacted) text form
        text = _short_repr(cleaned, max_chars + 1)
    if len(text) > max_chars:
        text = text[:max_chars] + TRUNCATED.format(n=len(text) - max_chars)
    return text
