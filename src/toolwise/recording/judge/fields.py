"""Reading a result's top-level status fields, whatever shape the result arrived in.

A tool reports a failure it returns through a few top-level fields (``success``, ``error``,
``status`` …). The same result reaches toolwise in different shapes depending on the entry
point: a direct ``tool.invoke`` hands over the dict, pydantic model or dataclass itself, while
a ``ToolMessage`` (graphs, ``ToolCall`` invocations) carries LangChain's text of it — JSON when
it serialises, else ``str(result)``: a model's ``success=False error='…'``, a dataclass's
``Result(success=False, …)``, a dict's ``{'success': False, …}``. All of them are read here, so
every entry point sees the same fields.

Only the top level counts: ``{"lines": ["error: disk full"]}`` is a successful log search and
``Outer(data=Inner(ok=False))`` a success. Parsing is bounded and skipped when it cannot help:
text is parsed only when its first non-space character can open an object, it names one of
the keys looked for, and it is at most :data:`MAX_PARSED_CHARS` long.
"""

from __future__ import annotations

import ast
import dataclasses
import json
import re
from collections.abc import Mapping
from typing import Any

__all__ = ["MAX_PARSED_CHARS", "read_fields", "read_text_fields"]

MAX_PARSED_CHARS = 65_536
"""Text longer than this is not parsed for status fields (a success unless a prefix says
otherwise). A 64 KB JSON object parses in about 0.3 ms; bigger results are rarely status
reports."""

_MAX_LITERAL_CHARS = 4_096  # Python-literal and repr text: parsed by a slower scanner
_MAX_VALUE_CHARS = 2_048
_CALL_HEAD = re.compile(r"[A-Za-z_][\w.]*\(")
_KEYWORD = re.compile(r"([A-Za-z_]\w*)=(.*)", re.DOTALL)
_KEYWORD_HEAD = re.compile(r"[A-Za-z_]\w*=")
_DICT_KEY = re.compile(r"""(['"])([^'"\\]+)\1\s*:\s*(.*)""", re.DOTALL)
_SPECIAL = re.compile(r"""\\.|['"()\[\]{},\s]""", re.DOTALL)
_CLOSING = {")": "(", "]": "[", "}": "{"}
_BARE = {"True": True, "true": True, "False": False, "false": False, "None": None, "null": None}


def read_fields(
    output: Any, keys: frozenset[str], triggers: frozenset[str] | None = None
) -> Mapping[str, Any] | None:
    """The top-level fields of ``output`` among ``keys``, or None when it has no fields.

    Mappings are returned as they are (callers only ``get`` from them); pydantic models and
    dataclasses give their matching attributes; text is parsed (:func:`read_text_fields`,
    only when it names one of ``triggers``, default ``keys``). Anything else has no fields.
    """
    if isinstance(output, str):
        return read_text_fields(output, keys, triggers)
    if isinstance(output, Mapping):
        return output
    model_fields = getattr(type(output), "model_fields", None)
    if isinstance(model_fields, Mapping):  # a pydantic model
        return {k: getattr(output, k, None) for k in keys if k in model_fields}
    if dataclasses.is_dataclass(output) and not isinstance(output, type):
        names = output.__dataclass_fields__
        return {k: getattr(output, k, None) for k in keys if k in names}
    return None  # named tuples too: LangChain serialises them as JSON lists, losing the keys


def read_text_fields(
    text: str, keys: frozenset[str], triggers: frozenset[str] | None = None
) -> Mapping[str, Any] | None:
    """Top-level fields of a result's text: JSON, a Python dict, or a model's repr/str.

    Cheap for text that cannot hold them: the first non-space character decides the shape
    (``{``, or a name followed by ``(`` or ``=``) before the text is searched for a trigger
    key, and only then parsed.
    """
    if len(text) > MAX_PARSED_CHARS:
        return None
    head = text[:64].lstrip()
    if not head:
        return None
    first = head[0]
    if first == "{":
        body = text.strip()
        if body[-1] != "}" or not _names_one(body, keys if triggers is None else triggers):
            return None
        try:
            value = json.loads(body)
        except ValueError:
            return _python_dict(body, keys)
        return value if isinstance(value, dict) else None
    if not (first.isalpha() or first == "_") or len(text) > _MAX_LITERAL_CHARS:
        return None
    call = _CALL_HEAD.match(head)
    keyword = call is None and _KEYWORD_HEAD.match(head)
    if call is None and not keyword:
        return None
    body = text.strip()
    if not _names_one(body, keys if triggers is None else triggers):
        return None
    if call is not None and body[-1] == ")":  # Result(success=False, error='…')
        return _pairs(_split(body[call.end() : -1], ","), keys, _KEYWORD)
    if keyword and "\n" not in body:  # a pydantic model's str: a=1 b='x'
        return _pairs(_split(body, " "), keys, _KEYWORD, strict=True)
    return None


def _names_one(body: str, keys: frozenset[str]) -> bool:
    return any(key in body for key in keys)


def _python_dict(body: str, keys: frozenset[str]) -> Mapping[str, Any] | None:
    """``str(dict)``: a literal when it is one, else its top-level ``'key': value`` pairs."""
    if len(body) > _MAX_LITERAL_CHARS:
        return None
    try:
        value = ast.literal_eval(body)
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return _pairs(_split(body[1:-1], ","), keys, _DICT_KEY, key_group=2)
    return value if isinstance(value, dict) else None


def _split(text: str, separator: str) -> list[str] | None:
    """``text`` cut at ``separator`` (a comma, or any whitespace for ``" "``) outside quotes
    and brackets; None when quotes or brackets do not balance (then it is no repr)."""
    parts: list[str] = []
    stack: list[str] = []
    quote = ""
    start = 0
    for match in _SPECIAL.finditer(text):
        char = match.group()
        if quote:
            if char == quote:
                quote = ""
        elif char in ("'", '"'):
            quote = char
        elif char in "([{":
            stack.append(char)
        elif char in _CLOSING:
            if not stack or stack.pop() != _CLOSING[char]:
                return None
        elif not stack and (char == separator or (separator == " " and char.isspace())):
            parts.append(text[start : match.start()])
            start = match.end()
    if quote or stack:
        return None
    parts.append(text[start:])
    return [p.strip() for p in parts if p.strip()]


def _pairs(
    parts: list[str] | None,
    keys: frozenset[str],
    pattern: re.Pattern[str],
    *,
    key_group: int = 1,
    strict: bool = False,
) -> Mapping[str, Any] | None:
    """The pairs among ``parts`` whose key is wanted; None when a part is not a pair (or,
    ``strict``, a value is neither a literal nor a nested repr: plain text, not a model)."""
    if not parts:
        return None
    found: dict[str, Any] = {}
    for part in parts:
        match = pattern.fullmatch(part)
        if match is None:
            return None
        key, raw = match.group(key_group), match.groups()[-1].strip()
        if strict and not _looks_like_value(raw):
            return None
        if key in keys:
            found[key] = _value(raw)
    return found


def _value(raw: str) -> Any:
    """A repr'd value: the Python value when it is a literal, else the text itself."""
    if raw in _BARE:
        return _BARE[raw]
    if len(raw) <= _MAX_VALUE_CHARS:
        try:
            return ast.literal_eval(raw)
        except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
            pass
    return raw


def _looks_like_value(raw: str) -> bool:
    if not raw:
        return False
    if raw in _BARE or raw[0] in "'\"[{(-" or raw[0].isdigit():
        return True
    return bool(_CALL_HEAD.match(raw)) and raw[-1] == ")"
