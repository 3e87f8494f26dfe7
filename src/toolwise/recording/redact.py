"""Make tool inputs and outputs safe and small before anything is stored.

Secrets are replaced by ``[REDACTED]`` — values under secret-looking keys, bearer tokens and
common key formats — and payloads are cut to a bounded size with a visible marker. The walk is
bounded in depth, items and characters, so a huge or cyclic payload costs little on the hot path
and nothing here ever raises into a tool call.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = ["DEFAULT_SECRET_KEYS", "REDACTED", "Redactor", "SecretRedactor", "to_safe_text"]

REDACTED = "[REDACTED]"
TRUNCATED = "…[truncated {n} chars]"

DEFAULT_SECRET_KEYS: tuple[str, ...] = (
    "password", "passwd", "pwd", "token", "secret", "api_key", "apikey", "api-key",
    "authorization", "auth", "access_key", "private_key", "client_secret", "credential",
    "cookie", "session_key",
)  # fmt: skip

_DEFAULT_PATTERNS: tuple[str, ...] = (
    r"(?i)\bbearer\s+[A-Za-z0-9._~+/=-]{8,}",
    r"\bsk-(?:proj-|ant-)?[A-Za-z0-9_-]{16,}",
    r"\b(?:AKIA|ASIA)[A-Z0-9]{16}\b",
    r"\bgh[pousr]_[A-Za-z0-9]{20,}\b",
    r"\bxox[abpr]-[A-Za-z0-9-]{10,}",
    r"-----BEGIN [A-Z ]*PRIVATE KEY-----[\s\S]*?(?:-----END [A-Z ]*PRIVATE KEY-----|$)",
    r"(?i)\b(?:password|passwd|pwd|token|secret|api_key|apikey)=[^\s&;,]+",
)

Redactor = Callable[[Any], Any]
"""A callable that returns a redacted copy of a payload (dicts, lists, strings, scalars)."""

_MAX_DEPTH = 6
_MAX_ITEMS = 64


@dataclass(frozen=True)
class SecretRedactor:
    """Default redactor: secret keys and token formats, configurable, on by default.

    Args:
        keys: key names (case-insensitive substrings) whose values are always redacted.
        patterns: regular expressions whose matches in any string are redacted.
        max_leaf_chars: strings longer than this are cut before the patterns run (cost bound).
    """

    keys: tuple[str, ...] = DEFAULT_SECRET_KEYS
    patterns: tuple[str, ...] = _DEFAULT_PATTERNS
    max_leaf_chars: int = 8_192
    _secret: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _key: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One alternation, one pass over each string: most strings hold no secret at all.
        alternation = "|".join(_scoped(p) for p in self.patterns) or r"(?!x)x"
        object.__setattr__(self, "_secret", re.compile(alternation))
        keys = "|".join(re.escape(k.lower()) for k in self.keys) or r"(?!x)x"
        object.__setattr__(self, "_key", re.compile(keys))

    def with_keys(self, extra: Iterable[str]) -> SecretRedactor:
        """A copy that also redacts values under ``extra`` keys."""
        return SecretRedactor(
            keys=(*self.keys, *extra), patterns=self.patterns, max_leaf_chars=self.max_leaf_chars
        )

    def is_secret_key(self, key: object) -> bool:
        return self._key.search(str(key).lower()) is not None

    def redact_text(self, text: str) -> str:
        if len(text) > self.max_leaf_chars:
            text = text[: self.max_leaf_chars] + TRUNCATED.format(n=len(text) - self.max_leaf_chars)
        return self._secret.sub(_replacement, text)

    def __call__(self, value: Any) -> Any:
        return self._walk(value, 0)

    def _walk(self, value: Any, depth: int) -> Any:
        if isinstance(value, str):
            return self.redact_text(value)
        if value is None or isinstance(value, bool | int | float):
            return value
        if depth >= _MAX_DEPTH:
            return self.redact_text(_short_repr(value))
        if isinstance(value, Mapping):
            out: dict[str, Any] = {}
            for i, (k, v) in enumerate(value.items()):
                if i >= _MAX_ITEMS:
                    out["…"] = f"{len(value) - _MAX_ITEMS} more keys"
                    break
                out[str(k)] = REDACTED if self.is_secret_key(k) else self._walk(v, depth + 1)
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


def _scoped(pattern: str) -> str:
    """A pattern as an alternation branch; a leading ``(?i)`` becomes a scoped ``(?i:…)``."""
    if pattern.startswith("(?i)"):
        return f"(?i:{pattern[4:]})"
    return f"(?:{pattern})"


_KEY_VALUE = re.compile(r"(?i)^([a-z_-]+)=")


def _replacement(match: re.Match[str]) -> str:
    """``[REDACTED]``, keeping the key of a ``key=value`` match visible."""
    key = _KEY_VALUE.match(match.group(0))
    return f"{key.group(1)}={REDACTED}" if key else REDACTED


def _short_repr(value: Any, limit: int = 4_096) -> str:
    try:
        text = str(value)
    except Exception:  # a broken __str__ must not break a tool call
        text = f"<unprintable {type(value).__name__}>"
    return text[:limit]


def _no_redaction(value: Any) -> Any:
    return value


def to_safe_text(value: Any, redactor: Redactor | None, max_chars: int) -> str:
    """Redact, then render as JSON (or text when not JSON-able), cut to ``max_chars``.

    Never raises: anything that cannot be rendered becomes a short type description.
    """
    if value is None or value == "":
        return ""
    try:
        cleaned = (redactor or _no_redaction)(value)
        if isinstance(cleaned, str):
            text = cleaned
        elif isinstance(cleaned, bool | int | float):
            text = str(cleaned)
        else:
            text = json.dumps(cleaned, default=str)
    except Exception:  # a payload that defeats rendering is stored as its type, not raised
        text = f"<unrenderable {type(value).__name__}>"
    if len(text) > max_chars:
        text = text[:max_chars] + TRUNCATED.format(n=len(text) - max_chars)
    return text
