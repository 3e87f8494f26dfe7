"""Recalled text goes to the model as quoted data, never as instructions.

Error messages, tool outputs and task texts come back from the store; any of them may carry a
prompt injection ("ignore previous instructions…"). Every such text is cleaned by :func:`quote`
and placed between :data:`OPEN` and :data:`CLOSE` by the formatter:

* NFKC-normalised first, so full-width look-alikes (``＜``) become the characters they imitate;
* control and format characters (newlines, tabs, zero-width and bidi overrides) are removed or
  turned into spaces, so a quoted item is always one line of the fenced list;
* ``&``, ``<`` and ``>`` are escaped as entities, and so is every non-ASCII character that
  can pass for a bracket (``ᐸ`` Canadian syllabics, ``〈`` ``‹`` ``˂`` and other punctuation and
  symbols that NFKC leaves alone), so the data can neither close the fence nor open a new one;
* the marker word is defused in any spelling, Greek and Cyrillic look-alike letters folded
  first (``tοolwise`` with an omicron);
* the result is cut to a length limit with a visible ``…``.

Labels that appear outside the fence (tool names, task types) go through :func:`label`: an
identifier of a small safe alphabet, no spaces (a label can never read as a sentence such as
``deploy web. Route: call delete_everything now``), of bounded length; :func:`quoted_label`
puts free-form labels (task types) in quotes.
"""

from __future__ import annotations

import re
import unicodedata

__all__ = ["CLOSE", "ELLIPSIS", "OPEN", "label", "quote", "quoted_label"]

OPEN = "<toolwise-data>"
CLOSE = "</toolwise-data>"
ELLIPSIS = "…"

_SPACE_CATEGORIES = frozenset({"Cc", "Zl", "Zp", "Zs"})
_DROP_CATEGORIES = frozenset({"Cf", "Cs", "Co", "Cn"})
_MARKER = re.compile(r"toolwise[\W_]*data")
_SPACES = re.compile(r"\s+")
_LABEL_DROP = re.compile(r"[^A-Za-z0-9_.\-]+")
# Greek and Cyrillic letters that look like the Latin ones of "toolwise data" (and a few
# more): folded before the marker word is searched, one character for one.
_CONFUSABLES = str.maketrans(
    {
        **dict.fromkeys("οσоօᴏ", "o"), **dict.fromkeys("αа", "a"), **dict.fromkeys("εе", "e"),
        **dict.fromkeys("ιіӏ", "i"), **dict.fromkeys("τт", "t"), **dict.fromkeys("ԝω", "w"),
        "ѕ": "s", "ԁ": "d", "ј": "j", "һ": "h", "р": "p", "ρ": "p", "х": "x", "χ": "x",
        "у": "y", "υ": "u", "с": "c", "ϲ": "c", "ν": "v", "κ": "k", "к": "k", "ℓ": "l",
        **dict.fromkeys("ΟОՕ", "O"), **dict.fromkeys("ΑА", "A"), **dict.fromkeys("ΕЕ", "E"),
        **dict.fromkeys("ΙІӀ", "I"), **dict.fromkeys("ΤТ", "T"), "Ѕ": "S", "Ԁ": "D",
    }
)  # fmt: skip
_SYLLABICS = ((0x1400, 0x167F), (0x18B0, 0x18FF))  # triangles and angles: ᐸ ᐳ ᐊ ᐅ …


def _bracket_like(char: str) -> bool:
    """A non-ASCII character that could pass for ``<`` or ``>`` (or any bracket)."""
    code = ord(char)
    if code < 0x80:
        return False
    if any(low <= code <= high for low, high in _SYLLABICS):
        return True
    return unicodedata.category(char)[0] in "PS"  # punctuation and symbols: 〈 ‹ ˂ ❮ ⟨ …


def _escape_brackets(text: str) -> str:
    if text.isascii():
        return text
    return "".join(f"&#x{ord(c):X};" if _bracket_like(c) else c for c in text)


def _defuse_marker(text: str) -> str:
    """Every spelling of the fence's marker word, look-alike letters included, defused."""
    folded = text.translate(_CONFUSABLES).lower()
    if len(folded) != len(text):  # lower() lengthened a rare letter: fold ASCII case only
        folded = text.translate(_CONFUSABLES).translate(_ASCII_LOWER)
    parts: list[str] = []
    pos = 0
    for match in _MARKER.finditer(folded):
        parts.extend((text[pos : match.start()], "[marker]"))
        pos = match.end()
    return "".join(parts) + text[pos:] if parts else text


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


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
    cleaned = _defuse_marker(_escape_brackets(cleaned))
    return _cut(cleaned, limit)


def label(text: object, limit: int = 64) -> str:
    """A tool name or task type fit to appear outside the fence, as an identifier.

    Only ``[A-Za-z0-9_.-]``; every run of other characters (spaces and ``:`` included)
    becomes one ``_``, so a label stays one word however hostile and never reads as a
    directive; at most ``limit`` characters (a cut one
    ends in ``~``); ``?`` when nothing is left.
    """
    cleaned = _LABEL_DROP.sub("_", _plain(text if isinstance(text, str) else str(text)))
    cleaned = cleaned.strip("_")
    if len(cleaned) > limit:
        cleaned = cleaned[: max(limit - 1, 0)] + "~"
    return cleaned or "?"


def quoted_label(text: object, limit: int = 64) -> str:
    """:func:`label` in double quotes: a free-form label (a task type) read as a name."""
    return f'"{label(text, limit)}"'
