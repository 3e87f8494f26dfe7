"""Recalled text goes to the model as quoted data, never as instructions.

Error messages, tool outputs and task texts come back from the store; any of them may carry a
prompt injection ("ignore previous instructions…"). Every such text is cleaned by :func:`quote`
and placed between :data:`OPEN` and :data:`CLOSE` by the formatter:

* NFKC-normalised first, so full-width look-alikes (``＜``) become the characters they imitate;
* control and format characters (newlines, tabs, zero-width and bidi overrides) are removed or
  turned into spaces, so a quoted item is always one line of the fenced list;
* ``&``, ``<`` and ``>`` are escaped as entities and any spelling of the marker word is
  defused, so the data can neither close the fence nor open a new one;
* the result is cut to a length limit with a visible ``…``.

Labels that appear outside the fence (tool names, task types) go through :func:`label`, which
keeps only a small safe alphabet.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CLOSE", "ELLIPSIS", "OPEN", "label", "quote"]

OPEN = "<toolwise-data>"
CLOSE = "</toolwise-data>"
ELLIPSIS = "…"

_SPACE_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Zs"})
_DROP_CATEGORIES = frozenset({"Cf", "Cs", "Co", "Cn"})
_MARKER = re.compile(r"toolwise[\W_]*data", re.IGNORECASE)
_SPACES = re.compile(r"\s+")
_LABEL_DROP = re.compile(r"[^A-Za-z0-9_.:/@+\- ]+")


def _plain(text: str) -> str:
    """NFKC, control/format characters removed, whitespace collapsed to single spaces."""
    normal = unicodedata.normalize("NFKC", text)
    kept = []
    for char in normal:
        category = unicodedata.category(char)
        if category in _SPACE_CATEGORIES:
            kept.append(" ")
        elif category not in _DROP_CATEGORIES:
            kept.append(char)
    return _SPACES.sub(" ", "".join(kept)).strip()


def _cut(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - len(ELLIPSIS), 0)].rstrip() + ELLIPSIS


def quote(text: object, limit: int) -> str:
    """``text`` made safe to show inside the fence: one line, escaped, at most ``limit`` chars.

    Escaping happens before cutting, so a cut can only shorten an entity (``&l``), never
    reintroduce a ``<``.
    """
    cleaned = _plain(text if isinstance(text, str) else str(text))
    cleaned = cleaned.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    cleaned = _MARKER.sub("[marker]", cleaned)
    return _cut(cleaned, limit)


def label(text: object, limit: int = 64) -> str:
    """A tool name or task type fit to appear outside the fence: ``[A-Za-z0-9_.:/@+- ]`` only."""
    cleaned = _LABEL_DROP.sub("", _plain(text if isinstance(text, str) else str(text)))
    return _cut(_SPACES.sub(" ", cleaned).strip(), limit) or "?"
