"""Make tool inputs and outputs safe and small before anything is stored.

Secrets are replaced by ``[REDACTED]`` — values under secret-looking keys (in mappings and in
text: ``token=…`` in URLs, ``"api_key": "…"`` in JSON or reprs, ``Authorization: …`` headers),
bearer tokens and common key formats — and payloads are cut to a bounded size with a visible
marker. The walk is
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
)
# Lower-case literals, one of which every default pattern's match contains: text with none of
# them (and no secret key) cannot match, and `in` is ~10× cheaper than running the alternation.
_DEFAULT_TRIGGERS: tuple[str, ...] = (
    "bearer", "sk-", "akia", "asia", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "xox", "-----begin",
)  # fmt: skip

Redactor = Callable[[Any], Any]
"""A callable that returns a redacted copy of a payload (dicts, lists, strings, scalars)."""

_MAX_DEPTH = 6
_MAX_ITEMS = 64
_LOOKAHEAD = 4_096  # a secret that starts before a cut is still matched whole


def _key_value_pattern(keys: Iterable[str]) -> str | None:
    """Values under secret keys inside text, keeping the key visible.

    Matches ``token=abc`` (URLs, reprs), ``"api_key": "abc"`` and ``'pwd': 'abc'`` (JSON, Python
    reprs, also escaped inside JSON strings) and ``Authorization: Basic abc`` (headers, YAML).
    The match starts at the key word itself (``access_token=`` matches from ``token``): no
    unbounded prefix to backtrack over on long strings. Quoted values run to the closing quote;
    unquoted ones after ``=`` to the next separator, after ``:`` to the end of the line.
    """
    alternation = "|".join(re.escape(k) for k in keys if k)
    if not alternation:
        return None
    return (
        rf"(?i:(?P<keep>(?:{alternation})[\w-]{{0,40}}(?:\\?[\"'])?[ \t]*"
        r"(?:(?P<eq>=)|:)[ \t]*(?P<q>\\?[\"'])?)"
        r"(?(q)(?:(?!(?P=q))(?:\\.|[^\n]))*(?P=q)?"
        r"|(?(eq)[^\s&;,'\"]+|[^,}\]\n\r]+)))"
    )


@dataclass(frozen=True)
class SecretRedactor:
    """Default redactor: secret keys and token formats, configurable, on by default.

    Args:
        keys: key names (case-insensitive substrings) whose values are always redacted, both
            in mappings and in text (``key=value``, ``"key": "value"``, ``Key: value``).
        patterns: regular expressions whose matches in any string are redacted.
        max_leaf_chars: strings longer than this are cut (with a marker); the patterns see only
            the kept part plus a bounded look-ahead, so a long string costs little.
    """

    keys: tuple[str, ...] = DEFAULT_SECRET_KEYS
    patterns: tuple[str, ...] = _DEFAULT_PATTERNS
    max_leaf_chars: int = 8_192
    _secret: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _key: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _triggers: tuple[str, ...] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        # One alternation, one pass over each string: most strings hold no secret at all.
        branches = [_scoped(p) for p in self.patterns]
        key_value = _key_value_pattern(k.lower() for k in self.keys)
        if key_value is not None:
            branches.append(key_value)
        object.__setattr__(self, "_secret", re.compile("|".join(branches) or r"(?!x)x"))
        keys = "|".join(re.escape(k.lower()) for k in self.keys) or r"(?!x)x"
        object.__setattr__(self, "_key", re.compile(keys))
        # Custom patterns have unknown literals: then every string gets the full scan.
        triggers = None
        if set(self.patterns) <= set(_DEFAULT_PATTERNS):
            triggers = (*_DEFAULT_TRIGGERS, *(k.lower() for k in self.keys if k))
        object.__setattr__(self, "_triggers", triggers)

    def with_keys(self, extra: Iterable[str]) -> SecretRedactor:
        """A copy that also redacts values under ``extra`` keys."""
        return SecretRedactor(
            keys=(*self.keys, *extra), patterns=self.patterns, max_leaf_chars=self.max_leaf_chars
        )

    def is_secret_key(self, key: object) -> bool:
        return self._key.search(str(key).lower()) is not None

    def redact_text(self, text: str) -> str:
        limit = self.max_leaf_chars
        if self._triggers is not None:
            lowered = text[: limit + _LOOKAHEAD].casefold()  # as close to re's (?i) as str gets
            if not any(trigger in lowered for trigger in self._triggers):
                return text if len(text) <= limit else _cut(text, limit)
        if len(text) <= limit:
            return self._secret.sub(_replacement, text)
        # Cutting first and matching after would leave the head of a secret that straddles the
        # cut unmatched (too short for its pattern) and stored in clear: match across the cut.
        window = text[: limit + _LOOKAHEAD]
        parts: list[str] = []
        pos = 0
        for match in self._secret.finditer(window):
            if match.start() >= limit:
                break
            parts.extend((window[pos : match.start()], _replacement(match)))
            pos = match.end()
        if pos < limit:
            parts.append(window[pos:limit])
            pos = limit
        return "".join(parts) + TRUNCATED.format(n=len(text) - pos)

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


def _cut(text: str, limit: int) -> str:
    return text[:limit] + TRUNCATED.format(n=len(text) - limit)


def _scoped(pattern: str) -> str:
    """A pattern as an alternation branch; a leading ``(?i)`` becomes a scoped ``(?i:…)``."""
    if pattern.startswith("(?i)"):
        return f"(?i:{pattern[4:]})"
    return f"(?:{pattern})"


def _replacement(match: re.Match[str]) -> str:
    """``[REDACTED]``, keeping the key (and quotes) of a key-value match visible."""
    groups = match.groupdict()
    keep = groups.get("keep")
    if keep is None:
        return REDACTED
    return f"{keep}{REDACTED}{groups.get('q') or ''}"


def _short_repr(value: Any, limit: int = 4_096) -> str:
    try:
        text = str(value)
    except Exception:  # a broken __str__ must not break a tool call
        text = f"<unprintable {type(value).__name__}>"
    return text[:limit]


def _no_redaction(value: Any) -> Any:
    return value


_SCALARS = frozenset({int, float, bool})


def to_safe_text(value: Any, redactor: Redactor | None, max_chars: int) -> str:
    """Redact, then render as JSON (or text when not JSON-able), cut to ``max_chars``.

    Never raises: anything that cannot be rendered becomes a short type description.
    """
    # Not `value == ""`: arrays and dataframes compare element-wise and their truth value
    # raises, which would lose the record of a tool that returned one.
    if value is None or (isinstance(value, str) and not value):
        return ""
    if type(value) in _SCALARS:  # numbers cannot hold secrets: skip the walk
        return str(value)
    content = getattr(value, "content", None)  # a ToolMessage: store what the tool said
    if isinstance(content, str | list) and hasattr(value, "type"):
        value = content
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
