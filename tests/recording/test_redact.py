"""Redaction: secrets never stored, payloads bounded, and nothing here ever raises."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from langchain_core.messages import ToolMessage

from toolwise.errors import InvalidArgumentError
from toolwise.recording.redact import (
    DEFAULT_SECRET_KEYS,
    REDACTED,
    SecretFormat,
    SecretRedactor,
    redact_identifier,
    to_safe_text,
)
from toolwise.recording.secrets import DEFAULT_FORMATS

redact = SecretRedactor()


# -- mappings -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "key",
    ["password", "PASSWORD", "db_password", "token", "refresh_token", "client_secret",
     "api_key", "X-Api-Key", "apikey", "Authorization", "auth", "private_key", "Cookie"],
)  # fmt: skip
def test_values_under_secret_keys_are_redacted(key: str) -> None:
    """Key names match case-insensitively and as substrings."""
    assert redact({key: "s3cr3t-value", "user": "ada"}) == {key: REDACTED, "user": "ada"}


def test_nested_mappings_and_lists_are_walked() -> None:
    """Secrets deep inside lists and dicts are found; the structure and other values stay."""
    payload = {"jobs": [{"env": {"API_KEY": "k-123", "REGION": "eu"}}, ["x", {"token": 7}]]}
    assert redact(payload) == {
        "jobs": [{"env": {"API_KEY": REDACTED, "REGION": "eu"}}, ["x", {"token": REDACTED}]]
    }


def test_whole_subtree_under_a_secret_key_is_redacted() -> None:
    """A secret key hides its value whatever its type."""
    assert redact({"credentials": {"user": "ada", "pin": 1234}}) == {"credentials": REDACTED}


def test_containers_past_the_depth_limit_are_not_rendered() -> None:
    """Beyond the walk's depth a container becomes a placeholder, never its repr."""
    deep: Any = {"password": "p4ss-deep"}
    for _ in range(10):
        deep = {"level": deep}
    assert "p4ss-deep" not in json.dumps(redact(deep))


def test_long_collections_are_capped() -> None:
    """Huge lists and dicts are cut to a bounded number of items, with a note."""
    walked = redact(list(range(1_000)))
    assert len(walked) == 65
    assert walked[-1] == "… 936 more items"
    assert len(redact({f"k{i}": i for i in range(1_000)})) == 65


def test_cyclic_payload_does_not_loop() -> None:
    """A payload that contains itself is walked to the depth limit and stops."""
    cyclic: dict[str, Any] = {"name": "loop"}
    cyclic["self"] = cyclic
    assert redact(cyclic)["name"] == "loop"


def test_message_content_is_redacted() -> None:
    """A ToolMessage is stored as its content, cleaned like any text."""
    message = ToolMessage(content="use Bearer abcdefghijklmnopqrstuvwxyz", tool_call_id="1")
    assert redact(message) == f"use Bearer {REDACTED}"


# -- text -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Authorization: Bearer eyJhbGciOi.JIUzI1NiJ9.sig", f"Authorization: {REDACTED}"),
        ("curl -H 'bearer abcdefgh12345678'", f"curl -H 'bearer {REDACTED}'"),
        ("key=sk-proj-abcdefghijklmnopqrstuvwx", f"key={REDACTED}"),
        ("aws AKIAIOSFODNN7EXAMPLE used", f"aws {REDACTED} used"),
        ("clone with ghp_abcdefghijklmnopqrstuvwxyz0123456789", f"clone with {REDACTED}"),
        ("slack xoxb-1234567890-abcdefghij", f"slack {REDACTED}"),
        ("-----BEGIN RSA PRIVATE KEY-----\nMIIE\n-----END RSA PRIVATE KEY-----", REDACTED),
    ],
)
def test_token_formats_are_redacted_in_text(text: str, expected: str) -> None:
    """Bearer tokens, OpenAI/AWS/GitHub/Slack keys and PEM private keys, wherever they appear."""
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "https://api.example.com/v1?token=abc123&user=ada",
            f"https://api.example.com/v1?token={REDACTED}&user=ada",
        ),
        (
            "https://id.example.com/cb?code=1&access_token=ya29.a0Af&state=x",
            f"https://id.example.com/cb?code=1&access_token={REDACTED}&state=x",
        ),
        ("postgres://db?password=hunter2;sslmode=require", f"postgres://db?password={REDACTED};sslmode=require"),
        ("api_key=AbC123 region=eu", f"api_key={REDACTED} region=eu"),
    ],
)  # fmt: skip
def test_key_value_pairs_in_urls_are_redacted(text: str, expected: str) -> None:
    """`key=value` with a secret key loses its value; the key and other pairs stay."""
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        '{"access_token": "ya29.secret", "user": "ada"}',
        "{'password': 'two words', 'user': 'ada'}",
        "Credentials(secret='two words', user='ada')",
        json.dumps({"body": json.dumps({"api_key": "inner-key", "user": "ada"})}),
    ],
    ids=["json", "python-repr", "dataclass-repr", "json-in-json"],
)
def test_secret_keys_inside_serialised_text_are_redacted(text: str) -> None:
    """Tools often return JSON or reprs as text: the secret keys in them still count."""
    cleaned = redact(text)
    for secret in ("ya29.secret", "two words", "inner-key"):
        assert secret not in cleaned
    assert "ada" in cleaned


def test_a_secret_cut_by_the_length_limit_is_still_redacted() -> None:
    """Truncation must not leave the head of a token in clear (too short to match)."""
    small = SecretRedactor(max_leaf_chars=100)
    text = "x" * 90 + " sk-proj-abcdefghijklmnopqrstuvwxyz0123456789 and more"
    cleaned = small(text)
    assert "sk-proj" not in cleaned
    assert "abcdef" not in cleaned
    assert cleaned.endswith("chars]")


def test_extra_keys_extend_the_defaults() -> None:
    """with_keys adds keys for mappings and for text, keeping the default ones."""
    custom = SecretRedactor().with_keys(["ssn"])
    assert custom({"ssn": "078-05-1120", "password": "p"}) == {
        "ssn": REDACTED,
        "password": REDACTED,
    }
    assert custom("lookup?ssn=078-05-1120") == f"lookup?ssn={REDACTED}"


def test_keys_and_patterns_are_configurable() -> None:
    """A redactor with only the keys and patterns given redacts only those."""
    narrow = SecretRedactor(keys=("pin",), patterns=(r"\bID-\d+",))
    assert narrow({"pin": 1, "password": "p", "note": "ID-42 ok"}) == {
        "pin": REDACTED,
        "password": "p",
        "note": f"{REDACTED} ok",
    }


def test_short_key_words_can_be_turned_off() -> None:
    """word_keys=() keeps values under `pw` and `pass`, as keys=() does for the long words."""
    plain = SecretRedactor(word_keys=())
    assert plain({"pw": "x", "pass": "y"}) == {"pw": "x", "pass": "y"}
    assert plain("pass=y") == "pass=y"


def test_ordinary_text_is_left_alone() -> None:
    """No false alarms on everyday tool output."""
    text = "Deployed api v1.2.3 to staging in 4.2 s; 3/3 pods ready (ask Asia team)."
    assert redact(text) == text


# -- to_safe_text ---------------------------------------------------------------------------


def test_payloads_are_rendered_as_json() -> None:
    """Mappings and lists become JSON text after redaction."""
    rendered = to_safe_text({"a": 1, "password": "p"}, redact, 100)
    assert rendered == '{"a": 1, "password": "[REDACTED]"}'


def test_payloads_are_cut_with_a_marker() -> None:
    """Text past max_chars is cut and says how much was dropped."""
    assert to_safe_text("y" * 150, None, 100) == "y" * 100 + "…[truncated 50 chars]"


@pytest.mark.parametrize(
    "value",
    [
        {(1, 2): "tuple key"},
        {"bytes": b"\x00\xff", "set": {1}},
        object(),
        float("nan"),
    ],
    ids=["tuple-key", "bytes-and-set", "object", "nan"],
)
@pytest.mark.parametrize("redactor", [redact, None], ids=["redacted", "raw"])
def test_unserialisable_values_become_text(value: object, redactor: Any) -> None:
    """Values JSON cannot encode are stored as text, with or without a redactor."""
    text = to_safe_text(value, redactor, 1_000)
    assert isinstance(text, str)
    assert text


def test_an_object_whose_attributes_raise_is_rendered_not_raised() -> None:
    """A remote proxy's ``__getattr__`` raised out of to_safe_text (looking for a message's
    ``content``): ``tw.record(tool_output=proxy)`` raised RuntimeError."""

    class Proxy:
        def __getattr__(self, name: str) -> Any:
            raise RuntimeError(name)

    assert to_safe_text(Proxy(), redact, 100) == "<unrenderable Proxy>"


def test_a_failing_redactor_never_exposes_the_raw_value() -> None:
    """If a custom redactor raises, the payload is replaced, not stored unredacted."""

    def broken(value: object) -> object:
        raise RuntimeError("bug")

    text = to_safe_text({"password": "hunter2"}, broken, 1_000)
    assert "hunter2" not in text
    assert text == "<unrenderable dict>"


def test_empty_values_are_empty_text() -> None:
    """None and "" store nothing; falsy values that carry data are kept."""
    assert to_safe_text(None, redact, 10) == ""
    assert to_safe_text("", redact, 10) == ""
    assert to_safe_text(0, redact, 10) == "0"
    assert to_safe_text([], redact, 10) == "[]"


# -- properties -----------------------------------------------------------------------------

_MARK = "QZSECRETQZ"  # the filler alphabet below has no upper case: it cannot contain this

_filler_text = st.text(alphabet="abcdefghij klmnop_-:=,.'\"{}", max_size=20)
_scalars = st.none() | st.booleans() | st.integers() | st.floats() | _filler_text
_payloads = st.recursive(
    _scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(_filler_text, inner, max_size=4),
    max_leaves=20,
)
_secret_keys = st.builds(
    lambda key, upper, before, after: (key.upper() if upper else key).join((before, after)),
    st.sampled_from(DEFAULT_SECRET_KEYS),
    st.booleans(),
    st.sampled_from(["", "db_", "x-", "my"]),
    st.sampled_from(["", "_v2", "s", "-id"]),
)
_secret_values = st.builds(
    lambda tail: _MARK + tail, st.text(alphabet="0123456789abcdef ._-/+=", max_size=16)
)
_wrappers = st.lists(st.tuples(st.booleans(), _filler_text, _payloads), max_size=8)


def _bury(secret: Any, key: str, wrappers: list[tuple[bool, str, Any]]) -> Any:
    """Place `{key: secret}` inside layers of lists and dicts mixed with filler."""
    payload: Any = {key: secret}
    for as_list, name, filler in wrappers:
        payload = [filler, payload] if as_list else {name: payload, f"{name}~": filler}
    return payload


@settings(max_examples=300, deadline=None)
@given(
    key=_secret_keys,
    secret=_secret_values
    | st.lists(_secret_values, min_size=1, max_size=3)
    | st.dictionaries(_filler_text, _secret_values, min_size=1, max_size=3),
    wrappers=_wrappers,
)
def test_a_value_under_a_secret_key_never_leaks(key: str, secret: Any, wrappers: Any) -> None:
    """Wherever a secret key sits in a payload, its value is absent from what is stored."""
    payload = _bury(secret, key, wrappers)
    assert _MARK not in json.dumps(redact(payload), default=str)
    assert _MARK not in to_safe_text(payload, redact, 1_000_000)


@settings(max_examples=200, deadline=None)
@given(key=_secret_keys, secret=_secret_values.filter(lambda s: " " not in s))
def test_a_secret_key_in_text_never_leaks(key: str, secret: str) -> None:
    """The same holds for the text forms: query strings, JSON and Python reprs."""
    for text in (
        f"https://h.example/p?a=1&{key}={secret}&b=2",
        json.dumps({key: secret, "n": 1}),
        repr({key: secret, "n": 1}),
    ):
        assert _MARK not in redact(text), text


_anything = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats()
    | st.text()
    | st.binary()
    | st.datetimes()
    | st.complex_numbers(),
    lambda inner: (
        st.lists(inner)
        | st.tuples(inner, inner)
        | st.frozensets(st.integers())
        | st.dictionaries(st.text() | st.integers(), inner)
    ),
    max_leaves=30,
)


@pytest.mark.parametrize("number", [-(10**30), 10**5_000], ids=["31 chars", "5001 digits"])
def test_a_huge_number_is_cut_like_text(number: int) -> None:
    """An int longer than the limit is cut with the marker; past str()'s limit, named."""
    text = to_safe_text(number, redact, 10)
    assert text in ("-100000000…[truncated 22 chars]", "<unrenderable int>")


@settings(max_examples=300, deadline=None)
@given(value=_anything, max_chars=st.integers(min_value=0, max_value=500))
def test_rendering_never_raises_and_stays_bounded(value: Any, max_chars: int) -> None:
    """Any payload, any limit: text comes back, never longer than the limit plus the marker."""
    for redactor in (redact, None):
        text = to_safe_text(value, redactor, max_chars)
        assert len(text) <= max_chars + len("…[truncated 99999999999 chars]")


# -- extension -------------------------------------------------------------------------------


def test_a_custom_format_is_redacted_next_to_the_built_in_ones() -> None:
    """A SecretFormat added to the defaults is found wherever its trigger occurs."""
    acme = SecretFormat("acme-token", triggers=("acme_",), pattern=r"acme_[A-Za-z0-9]{32}")
    custom = SecretRedactor(formats=(*DEFAULT_FORMATS, acme))
    token = "acme_" + "Ab3" * 10 + "xy"

    assert custom(f"login {token} ok; stripe sk_live_{'a1' * 12}") == (
        f"login {REDACTED} ok; stripe {REDACTED}"
    )


def test_a_format_without_triggers_is_refused_naming_the_field() -> None:
    """Triggers are how a format is found: an empty one is a configuration error."""
    with pytest.raises(InvalidArgumentError) as caught:
        SecretFormat("broken", triggers=("",), pattern=r"x")
    assert caught.value.field == "triggers"


def test_a_secret_is_never_cached_as_clean_text() -> None:
    """Redacting the same short secret twice redacts it twice (only clean text is cached)."""
    fresh = SecretRedactor()
    text = "pwd=hunter2"
    assert fresh(text) == fresh(text) == f"pwd={REDACTED}"
    assert fresh("replicas") == fresh("replicas") == "replicas"


def test_a_uuid_identifier_is_kept_without_a_scan() -> None:
    """The usual ids pass unchanged; a custom redactor that would rewrite them is not asked."""
    run_id = "5f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f"
    assert redact_identifier(run_id, lambda value: "[REDACTED]") == run_id
    hex_id = run_id.replace("-", "")
    assert redact_identifier(hex_id, lambda value: "[REDACTED]") == hex_id


def test_an_identifier_is_digested_when_the_redactor_fails() -> None:
    """A failing redactor never lets the raw identifier through."""

    def broken(value: object) -> object:
        raise RuntimeError("redactor down")

    assert redact_identifier("session-of-some-length", broken).startswith("redacted-")


@pytest.mark.parametrize("key", ["private", "cred", "sig", "access"])
@pytest.mark.parametrize("padding", ["", "x" * 300], ids=["short text", "long text"])
def test_a_credential_under_an_ambiguous_word_is_redacted_in_text_of_any_length(
    key: str, padding: str
) -> None:
    """These words share their first three letters with secret words (``private_key``,
    ``credential``, ``signature``, ``access_key``); in a short text only the first detector of
    a shared trigger ran, so ``sig=<token>`` in a tool argument was stored in clear."""
    token = "q8Zr2LmX9vB4nK7pT1wY6sD3"
    assert redact(f"{padding} {key}={token}") == f"{padding} {key}={REDACTED}"


# -- short key words, prose and glued tokens ------------------------------------------------


@pytest.mark.parametrize("key", ["pw", "pass", "DB_PASS", "smtp.pw", "dbPass"])
def test_short_password_keys_hide_their_values(key: str) -> None:
    """`pw` and `pass` count as secret keys when they are a whole part of the name."""
    assert redact({key: "Hunter2", "user": "ada"}) == {key: REDACTED, "user": "ada"}
    assert redact(f"user=ada {key}=Hunter2") == f"user=ada {key}={REDACTED}"


def test_words_that_contain_pass_are_not_secret_keys() -> None:
    """`bypass`, `passed`, `compass`, `upward` name no secret: their values stay."""
    payload = {"bypass": "cache", "passed": 3, "compass": "north", "upward": "5"}
    assert redact(payload) == payload
    assert redact("bypass=cache upward: 5 tests passed") == "bypass=cache upward: 5 tests passed"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("connect with password 'Sup3rS3cret'", f"connect with password '{REDACTED}'"),
        ('the password is "two words" here', f'the password is "{REDACTED}" here'),
        ("password: Sup3rS3cret", f"password: {REDACTED}"),
    ],
)  # fmt: skip
def test_a_quoted_password_in_prose_is_redacted(text: str, expected: str) -> None:
    """Exception messages say `with password 'X'`: the quoted value goes, the sentence stays."""
    assert redact(text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("the password is hunter2", f"the password is {REDACTED}"),
        ("passwd Tr0ub4dor&3", f"passwd {REDACTED}"),
        ("login: password hunter2 rejected.", f"login: password {REDACTED} rejected."),
        ("the password for db is hunter2.", f"the password for db is {REDACTED}."),
        ("set the password to 12345678", f"set the password to {REDACTED}"),
        ("Password is P@ssw0rd!", f"Password is {REDACTED}"),
        ("password was changed to Welcome1", f"password was changed to {REDACTED}"),
    ],
)  # fmt: skip
def test_an_unquoted_password_in_prose_is_redacted(text: str, expected: str) -> None:
    """A word with digits or symbols after a password word is the password: it was stored in
    clear unless quoted."""
    assert redact(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "password reset succeeded", "the password is required", "Password is required!",
        "the password is correct", "password expires in 90 days", "password is 8 characters",
        "password changed at 2026-01-01T10:00:00Z", "password authentication failed for user ada1",
        "password is ${DB_PASSWORD}", "the password is ********", "password manager 1Password",
        "password-protected archive", "cd /tmp && pwd", "password set to expire in 90 days",
    ],
)  # fmt: skip
def test_prose_about_passwords_survives(text: str) -> None:
    """An unquoted word after `password` is ordinary prose, kept."""
    assert redact(text) == text


@pytest.mark.parametrize(
    "text",
    [
        "the password is incorrect", "password was supplied.", "the password is locked",
        "the password is shadowed", "password is stale", "password was rotated",
        "password is weak", "the password is invalid", "password is missing.",
        "password is older", "the password is empty", "password was rejected",
        "the password is different", "password is optional.", "password is visible",
    ],
)  # fmt: skip
def test_an_all_letter_word_after_password_is_is_prose(text: str) -> None:
    """Why ``the password is swordfish`` stays: ordinary text (man pages, library docs) puts
    an open set of all-letter words in that slot, these among them, and a rule that took the
    word would blank the reason of every such failure message."""
    assert redact(text) == text
    assert redact("the password is swordfish") == "the password is swordfish"


@pytest.mark.parametrize(
    "token",
    ["ghp_16C7e42F292c6912E7710c838347Ae178B4a", "xoxb-123456789012-AbCdEfGhIjKl",
     "sk_live_51H8abcdefghijklmnopqrstuv", "glpat-abcdefghij0123456789"],
)  # fmt: skip
def test_a_token_glued_to_a_word_is_redacted(token: str) -> None:
    """`Errghp_…`: an error class printed without a space before the token still hides it."""
    assert redact(f"Err{token} failed") == f"Err{REDACTED} failed"
