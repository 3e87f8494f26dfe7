"""Secrets recognised by the name they are stored under: ``password=…``, ``"token": "…"``.

Two kinds of key words:

* **secret words** (``password``, ``token``, ``secret``, ``api_key`` …): whatever value sits
  under a key containing one is a secret, whatever it looks like (``hunter2``, ``two words``);
* **entropy words** (``key``, ``access``, ``signature`` …): too common to redact on sight
  (``key: app.kubernetes.io/name``), so a value under them is redacted only when it looks like
  a credential — a long run of token characters with high Shannon entropy.

and **word keys** (``pw``, ``pass``): too short to look for inside other words (``upward``,
``passed``, ``bypass``), so they count only as a whole part of a name: ``pw``, ``DB_PASS``,
``smtp.pw``, ``dbPass``.

In prose, a password word followed by a quoted value (``with password 'hunter2'``,
``password is "a b"``) hides the value; so does an unquoted word after it (or after ``is``,
``was``, ``to``, ``for <name> is``) that has digits or symbols as well as letters
(``the password is hunter2``, ``passwd Tr0ub4dor&3``), or digits alone after ``is``. A plain
word stays (``password reset``, ``password is required``), and so does an all-letter password
(``the password is swordfish``): it cannot be told from prose.

Some names contain a secret word and usually hold no secret (``author``, ``total_tokens``,
``secretName``, ``key_id``): :data:`PLAIN_KEY` lists them, after gitleaks' allow-list for its
generic rule, and their values are treated like those under entropy words. Placeholders
(``${DB_PASSWORD}``, ``<token>``, ``***``, ``true``) stay too: they carry no secret and keep
the record readable.

In text, keys are found on a lower-cased copy (the key words are lower case), one regular
expression per three-letter stem, tried where the stem occurs (:mod:`.search`).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Literal

from toolwise.recording.secrets.search import Detector, Span, matches_from

__all__ = [
    "DEFAULT_ENTROPY_KEYS",
    "DEFAULT_SECRET_KEYS",
    "DEFAULT_WORD_KEYS",
    "PLAIN_KEY",
    "KeyRules",
    "holds_secret",
    "looks_like_credential",
    "shannon_entropy",
]

DEFAULT_SECRET_KEYS: tuple[str, ...] = (
    "password", "passwd", "pwd", "passphrase", "token", "secret", "api_key", "apikey",
    "api-key", "authorization", "auth", "access_key", "access-key", "accesskey",
    "private_key", "private-key", "privatekey", "client_secret", "credential", "cookie",
    "session_key", "accountkey", "sharedaccesskey", "signing_key", "encryption_key",
    "master_key",
)  # fmt: skip

DEFAULT_ENTROPY_KEYS: tuple[str, ...] = (
    "key", "access", "cred", "signature", "sig", "salt", "hmac", "private", "seed",
)  # fmt: skip

DEFAULT_WORD_KEYS: tuple[str, ...] = ("pw", "pass")

PLAIN_KEY = re.compile(
    r"author(?!i[sz])|oauth_?(?:url|uri|endpoint)|"
    r"tokens?_?(?:count|type|usage|limit|url|uri|endpoint|file|path|expir|ttl|lifetime|"
    r"name|kind|len|index|ids?\b|estimate)|(?:max|total|input|output|prompt|completion|cached|"
    r"reasoning)_?tokens?|"
    r"secrets?_?(?:name|ref|key_?ref|length|size|arn|ids?\b|version|store|provider|manager|"
    r"engine|path|mount|type|count)|"
    r"key_?(?:name|ids?\b|alias|size|length|type|file|path|vault|ring|spec|usage|board|word|"
    r"code|press|frame|pair|stone|prefix|algorithm|format|rotation|version|count)|"
    r"password_?(?:policy|length|expir|reset|changed|last|file|path|hint|less|required|min|max)|"
    r"credentials?_?(?:ids?\b|name|type|source|provider|file|path|helper|process|scope)|"
    r"auth_?(?:type|method|mode|provider|url|uri|endpoint|domain|plugin|scheme|enabled|"
    r"required|status|result)|authenticat|"
    r"public_?key|(?:primary|foreign|sort|partition|hash|range|cache|idempotency|object|"
    r"route)_?key|signature_?(?:version|method|algorithm|type)|tokeniz|"
    r"accesskeyid|_?(?:url|uri|endpoint|arn)\b"
)
"""Key names that contain a secret word but name something that is not a secret."""

_PLACEHOLDER = re.compile(
    r"(?:|true|false|null|none|nil|yes|no|on|off|\*+|x{3,}|\.{3}|…|\[redacted\]|redacted|"
    r"\$\{[^}]*\}|\$[a-z_][a-z0-9_]*|\{\{.*\}\}|<[^>]*>|%\(?[a-z_]+\)?s?|changeme)",
    re.IGNORECASE,
)
_TOKEN_CHARS = re.compile(r"[A-Za-z0-9+/=_~.-]{16,}")
_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_BASE64_CERTIFICATE = "LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0t"  # "-----BEGIN CERTIFICATE-----"
_MIN_ENTROPY = 3.5  # bits per character; gitleaks uses 3.5 for its generic rule
_MIN_HEX_ENTROPY = 3.0  # hex has only 16 symbols: 4 bits at most
_HEX = frozenset("0123456789abcdefABCDEF")

KeyKind = Literal["secret", "entropy"]


def shannon_entropy(text: str) -> float:
    """Bits per character of ``text``'s own character distribution (0 for "")."""
    if not text:
        return 0.0
    n = len(text)
    return -sum(c / n * math.log2(c / n) for c in Counter(text).values())


def looks_like_credential(value: str) -> bool:
    """A long run of token characters with letters, digits and high entropy.

    Not a UUID and not a base64 certificate (``certificate-authority-data``): identifiers and
    public material carry learning signal and no secret.
    """
    if not _TOKEN_CHARS.fullmatch(value) or _UUID.fullmatch(value):
        return False
    if value.startswith(_BASE64_CERTIFICATE):
        return False
    if not any(c.isdigit() for c in value) or not any(c.isalpha() for c in value):
        return False
    threshold = _MIN_HEX_ENTROPY if set(value) <= _HEX else _MIN_ENTROPY
    return shannon_entropy(value) >= threshold


def is_placeholder(value: str) -> bool:
    """``${VAR}``, ``<token>``, ``***``, ``true`` …: values that carry no secret."""
    return _PLACEHOLDER.fullmatch(value.strip(" \t\"'\\")) is not None


def _stems(words: Iterable[str], size: int = 3) -> dict[str, list[str]]:
    """Words grouped by their first ``size`` characters, longest first within a group."""
    groups: dict[str, list[str]] = {}
    for word in sorted({w for w in words if w}, key=len, reverse=True):
        groups.setdefault(word[:size], []).append(word)
    return groups


def _key_value_regex(words: list[str], suffix: str = r"[\w.-]{0,40}") -> re.Pattern[str]:
    """``<word><suffix> <sep> <value>`` over lower-cased text; the value is group ``v``.

    Quoted values run to the closing quote (also ``\\"``-escaped quotes inside JSON strings);
    unquoted ones after ``=`` to the next separator, after ``:`` to the end of the line.
    """
    alternation = "|".join(re.escape(w) for w in words)
    return re.compile(
        rf"(?:{alternation})(?P<suffix>{suffix})(?:\\?[\"'])?[ \t]*"
        r"(?:(?P<eq>=>?|:=)|:)[ \t]*(?P<q>\\?[\"'])?"
        r"(?P<v>(?(q)(?:(?!(?P=q))(?:\\.|[^\n\\]))*|(?(eq)[^\s&;,'\"]+|[^\s,}\]][^,}\]\n\r]*)))"
    )


_FLAG = re.compile(
    r"--(?P<flag>[a-z0-9][\w.-]{0,60})[ \t]+(?:(?P<q>[\"'])(?P<qv>[^\"'\n]{1,1024})(?P=q)"
    r"|(?P<v>[^\s\"'-][^\s]{0,1024}))"
)
_CURL_USER = re.compile(r"-u(?<![^\s]-u)[ \t]*[\"']?[^\s:\"']{1,256}:(?P<v>[^\s\"']{1,512})")
_PROSE_PASSWORD = re.compile(  # "with password 'hunter2'", 'password is "a b"'
    r"pass(?:word|wd|phrase)s?[ \t]{1,16}(?:(?:is|was|of)[ \t]{1,16})?(?P<q>[\"'])"
    r"(?P<v>(?:(?!(?P=q))[^\n\\]){1,512})(?P=q)"
)
# "the password is hunter2", "passwd Tr0ub4dor&3", "password for db was 12345678": the first
# word after a password word (or after "is"/"was"/"to"/"set to", or "for <name> is"), judged by
# _looks_like_password, since most such words are prose ("password reset", "is required").
_PROSE_BARE_PASSWORD = re.compile(
    r"pass(?:word|wd|phrase)s?[ \t]{1,16}"
    r"(?:(?P<verb>(?:(?:for|of)[ \t]{1,16}[^\s\"']{1,64}[ \t]{1,16})?"
    r"(?:(?:(?:is|was|has[ \t]{1,16}been)[ \t]{1,16})?(?:set|changed|reset)[ \t]{1,16}to|is|was|to)"
    r"[ \t]{1,16}))?"
    r"(?P<v>[^\s\"'`/$<{\[(-][^\s]{0,127})"
)
_TRAILING = ".,;:)]}>\"'`"  # sentence punctuation; "!" and "?" may end a password
_SYMBOLS = frozenset("!@#%^&*+=~?")
_VERSION_OR_DATE = re.compile(r"v?\d+(?:[.:-]\d+)+[a-z]?|\d+(?:st|nd|rd|th|s|ms|min|h|d)", re.I)
_NAME_PARTS = re.compile(r"[A-Z]?[a-z0-9]+|[A-Z]+(?![a-z])")
_NETRC = re.compile(r"machine[ \t]+\S+[ \t]+login[ \t]+\S+[ \t]+password[ \t]+(?P<v>\S{1,512})")


@dataclass(frozen=True)
class KeyRules:
    """Which key names hold secrets, for mappings and for ``key=value`` inside text.

    Args:
        secret_keys: words whose values are always secrets (case-insensitive substrings).
        entropy_keys: words whose values are secrets when they look like credentials.
        word_keys: words whose values are secrets when the word is a whole part of the key
            name (``db_pass``, ``dbPass``), never inside another word (``bypass``).
    """

    secret_keys: tuple[str, ...] = DEFAULT_SECRET_KEYS
    entropy_keys: tuple[str, ...] = DEFAULT_ENTROPY_KEYS
    word_keys: tuple[str, ...] = DEFAULT_WORD_KEYS
    _secret: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _entropy: re.Pattern[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        never = r"(?!x)x"
        secret = [k.lower() for k in self.secret_keys if k]
        entropy = [k.lower() for k in self.entropy_keys if k and k.lower() not in secret]
        object.__setattr__(self, "_secret", re.compile("|".join(map(re.escape, secret)) or never))
        object.__setattr__(self, "_entropy", re.compile("|".join(map(re.escape, entropy)) or never))

    def kind(self, key: object) -> KeyKind | None:
        """``"secret"``, ``"entropy"`` or ``None`` for a mapping key or flag name."""
        name = str(key).lower()
        if self.has_word_key(str(key)):
            return "secret"
        if self._secret.search(name):
            return "entropy" if PLAIN_KEY.search(name) else "secret"
        if self._entropy.search(name):
            return "entropy"
        return None

    def has_word_key(self, name: str) -> bool:
        """Whether a word key is a whole part of ``name`` (split at ``_.-`` and camelCase)."""
        if not self.word_keys:
            return False
        words = {w.lower() for w in self.word_keys}
        return any(part.lower() in words for part in _NAME_PARTS.findall(name))

    def hides(self, key: object, value: object) -> bool:
        """Whether ``value`` stored under ``key`` in a mapping is a secret."""
        kind = self.kind(key)
        if isinstance(value, str):
            return holds_secret(kind, value)
        return kind == "secret"

    def detectors(self) -> list[tuple[str, Detector]]:
        """``(trigger, detector)`` pairs that find these keys' values in lower-cased text."""
        found: list[tuple[str, Detector]] = []
        kinds: tuple[tuple[tuple[str, ...], KeyKind], ...] = (
            (self.secret_keys, "secret"),
            (self.entropy_keys, "entropy"),
        )
        for words, kind in kinds:
            lowered = [w.lower() for w in words if w]
            if kind == "entropy":
                lowered = [w for w in lowered if not self._secret.search(w)]
            for stem, group in _stems(lowered).items():
                found.append((stem, _KeyValue(_key_value_regex(group), kind)))
        short = sorted({w.lower() for w in self.word_keys if w})
        if short:
            regex = _key_value_regex(short, suffix=r"(?![a-z0-9])")
            found += [(w, _WordKeyValue(regex, self)) for w in short]
        for word in ("password", "passwd", "passphrase"):
            found += [(word, _ProseValue(_PROSE_PASSWORD)), (word, _BareProseValue())]
        found += [("--", _Flags(self)), ("-u", _ValueAfter(_CURL_USER))]
        found.append(("machine", _ValueAfter(_NETRC)))
        return found


def holds_secret(kind: KeyKind | None, value: str) -> bool:
    """Whether ``value`` under a key of this kind is a secret (not a placeholder, say)."""
    if kind == "secret":
        return bool(value) and not is_placeholder(value)
    return kind == "entropy" and looks_like_credential(value)


def _keyed_values(
    regex: re.Pattern[str], text: str, subject: str, trigger: str, at: int
) -> Iterator[tuple[re.Match[str], int, str, int, str]]:
    """Per match of a key-value ``regex``: the match, where its value starts, the value, and
    where the whole key name starts and that name as in ``subject``; a key inside a URL's
    ``user:password@`` is left to url-credentials."""
    for match in matches_from(regex, subject, trigger, at):
        start, end = match.span("v")
        begin, name = _whole_key(subject, match.start(), match.start("suffix"))
        if subject.endswith("://", 0, begin):
            continue
        yield match, start, text[start:end].rstrip(), begin, name


@dataclass(frozen=True, slots=True)
class _KeyValue:
    """``password=…``, ``"token": "…"``, ``Authorization: …`` for one stem of key words."""

    regex: re.Pattern[str]
    kind: KeyKind

    def spans(self, text: str, subject: str, trigger: str, at: int) -> Iterator[Span]:
        for _, start, value, _, name in _keyed_values(self.regex, text, subject, trigger, at):
            kind = self.kind
            if kind == "secret" and PLAIN_KEY.search(name):
                kind = "entropy"
            if holds_secret(kind, value):
                yield start, start + len(value)


@dataclass(frozen=True, slots=True)
class _WordKeyValue:
    """``pw=…``, ``DB_PASS: …``: a word key that is a whole part of the key name."""

    regex: re.Pattern[str]
    rules: KeyRules

    def spans(self, text: str, subject: str, trigger: str, at: int) -> Iterator[Span]:
        for match, start, value, begin, _ in _keyed_values(self.regex, text, subject, trigger, at):
            name = text[begin : match.start("suffix")]
            if not self.rules.has_word_key(name):
                continue
            if holds_secret("secret", value):
                yield start, start + len(value)


@dataclass(frozen=True, slots=True)
class _ProseValue:
    """A quoted value after a password word in prose: ``with password 'hunter2'``."""

    regex: re.Pattern[str]

    def spans(self, text: str, subject: str, trigger: str, at: int) -> Iterator[Span]:
        for match in matches_from(self.regex, subject, trigger, at):
            start, end = match.span("v")
            if holds_secret("secret", text[start:end]):
                yield start, end


@dataclass(frozen=True, slots=True)
class _BareProseValue:
    """An unquoted password in prose: ``the password is hunter2``, ``passwd Tr0ub4dor&3``."""

    def spans(self, text: str, subject: str, trigger: str, at: int) -> Iterator[Span]:
        for match in matches_from(_PROSE_BARE_PASSWORD, subject, trigger, at):
            start, end = match.span("v")
            value = text[start:end].rstrip(_TRAILING)
            if _looks_like_password(value, linked=match.group("verb") is not None):
                yield start, start + len(value)


def _looks_like_password(word: str, *, linked: bool) -> bool:
    """Whether an unquoted word after a password word is the password, not prose.

    Letters with digits or symbols (``hunter2``, ``P@ssw0rd``), or digits alone after
    ``is``/``was``/``to`` (``is 12345678``); never a plain word (``reset``, ``required``), a
    short one (``is 8 characters``), a version, date or duration, or a placeholder. An
    all-letter password in prose (``the password is swordfish``) cannot be told from prose
    and stays.
    """
    if not 4 <= len(word) <= 128 or is_placeholder(word) or _VERSION_OR_DATE.fullmatch(word):
        return False
    letters = any(c.isalpha() for c in word)
    if not letters:
        return linked and word.isdigit()
    inner = word.rstrip("!?")  # "is required!" ends a sentence
    return any(c.isdigit() for c in word) or any(c in _SYMBOLS for c in inner)


@dataclass(frozen=True, slots=True)
class _Flags:
    """``--password hunter2``, ``--client-secret "a b"``, ``--user ada:pw``."""

    rules: KeyRules

    def spans(self, text: str, subject: str, trigger: str, at: int) -> Iterator[Span]:
        for match in matches_from(_FLAG, subject, trigger, at):
            group = "qv" if match.group("qv") is not None else "v"
            start, end = match.span(group)
            value = text[start:end]
            flag = match.group("flag")
            if holds_secret(self.rules.kind(flag), value):
                yield start, end
            elif flag == "user" and ":" in value:
                yield start + value.index(":") + 1, end


@dataclass(frozen=True, slots=True)
class _ValueAfter:
    """The ``v`` group of a pattern: ``curl -u user:pw``, ``.netrc`` passwords."""

    regex: re.Pattern[str]

    def spans(self, text: str, subject: str, trigger: str, at: int) -> Iterator[Span]:
        yield from (m.span("v") for m in matches_from(self.regex, subject, trigger, at))


def _whole_key(lowered: str, start: int, word_end: int) -> tuple[int, str]:
    """Where the key name around a key word starts, and the name: ``db_password_file``."""
    begin = start
    while begin > 0 and start - begin < 60 and _in_name(lowered[begin - 1]):
        begin -= 1
    end = word_end
    while end < len(lowered) and end - word_end < 60 and _in_name(lowered[end]):
        end += 1
    return begin, lowered[begin:end]


def _in_name(char: str) -> bool:
    return char.isalnum() or char in "_.-"
