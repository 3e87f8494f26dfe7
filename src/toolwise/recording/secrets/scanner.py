"""Find where the secrets are in a text: by shape, by key name, by your own patterns.

The scanner returns character spans; the caller replaces them. Every detector is a regular
expression that ``re`` can search quickly (see :mod:`.formats`), and none can backtrack
without bound, so a hostile or huge tool output costs linear time. On a 10 KB DevOps log the
whole scan takes well under a millisecond (``benchmarks/redaction.py``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field

from toolwise.recording.secrets.fields import KeyRules
from toolwise.recording.secrets.formats import DEFAULT_FORMATS, SecretFormat
from toolwise.recording.secrets.search import Detector, Span, TriggerIndex, matches_from

__all__ = ["SecretScanner", "merge_spans"]


_ASCII_LOWER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")


@dataclass(frozen=True)
class SecretScanner:
    """All the detectors, compiled once.

    Args:
        formats: secrets recognised by shape (:data:`.formats.DEFAULT_FORMATS`).
        keys: which key names hold secrets.
        patterns: your own regular expressions; each whole match is a secret.
    """

    formats: tuple[SecretFormat, ...] = DEFAULT_FORMATS
    keys: KeyRules = field(default_factory=KeyRules)
    patterns: tuple[str, ...] = ()
    _custom: tuple[re.Pattern[str], ...] = field(init=False, repr=False, compare=False)
    _in_text: TriggerIndex[Detector] = field(init=False, repr=False, compare=False)
    _in_lowered: TriggerIndex[Detector] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_custom", tuple(re.compile(p) for p in self.patterns))
        # Formats grouped by trigger: one search per distinct trigger, however many share it.
        groups: tuple[dict[str, list[SecretFormat]], dict[str, list[SecretFormat]]] = ({}, {})
        for fmt in self.formats:
            for trigger in fmt.triggers:
                groups[fmt.lowered].setdefault(trigger, []).append(fmt)
        in_text: list[tuple[str, Detector]] = [
            (t, _Formats(tuple(f))) for t, f in groups[0].items()
        ]
        in_lowered: list[tuple[str, Detector]] = [
            (t, _Formats(tuple(f))) for t, f in groups[1].items()
        ]
        object.__setattr__(self, "_in_text", TriggerIndex(in_text))
        object.__setattr__(self, "_in_lowered", TriggerIndex(in_lowered + self.keys.detectors()))

    def spans(self, text: str) -> list[Span]:
        """Sorted, non-overlapping ``(start, end)`` spans of every secret in ``text``."""
        lowered = text.lower()
        if len(lowered) != len(text):  # a few non-ASCII letters lower to two characters
            lowered = text.translate(_ASCII_LOWER)
        found: list[Span] = []
        for subject, index in ((text, self._in_text), (lowered, self._in_lowered)):
            for trigger, detector, at in index.found(subject):
                found.extend(detector.spans(text, subject, trigger, at))
        for regex in self._custom:
            found.extend(m.span() for m in regex.finditer(text) if m.end() > m.start())
        return merge_spans(found)


@dataclass(frozen=True, slots=True)
class _Formats:
    """The formats that share one trigger."""

    formats: tuple[SecretFormat, ...]

    def spans(self, text: str, subject: str, trigger: str, at: int) -> Iterator[Span]:
        for fmt in self.formats:
            for match in matches_from(fmt.regex, subject, trigger, at):
                span = _secret_span(fmt, text, match)
                if span is not None:
                    yield span


def _secret_span(fmt: SecretFormat, text: str, match: re.Match[str]) -> Span | None:
    lead = match.start("lead") if "lead" in match.re.groupindex else -1
    start = lead if lead >= 0 else match.start()
    if fmt.word_start and start > 0 and _continues_word(text[start - 1]):
        return None
    span = match.span(fmt.group)
    if lead >= 0 and fmt.group == 0:
        span = (lead, span[1])
    if span[1] <= span[0]:
        return None
    if fmt.check is not None and not fmt.check(text[span[0] : span[1]]):
        return None
    return span


def _continues_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def merge_spans(spans: Iterable[Span]) -> list[Span]:
    """Overlapping or touching spans joined, sorted by start."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
