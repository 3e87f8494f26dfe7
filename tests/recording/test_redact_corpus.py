"""The redaction corpus: every format is redacted in context, and ordinary output survives."""

from __future__ import annotations

import json

import pytest
from tests.recording.secret_corpus import NEAR_MISSES, SAMPLES, Sample

from toolwise.recording.redact import REDACTED, SecretRedactor, to_safe_text
from toolwise.recording.secrets import DEFAULT_FORMATS, KeyRules, SecretFormat, SecretScanner

redact = SecretRedactor(max_leaf_chars=100_000)


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.id)
def test_secret_is_redacted_in_context(sample: Sample) -> None:
    """The secret is gone, a marker stands in its place, and the context stays readable."""
    cleaned = redact(sample.text)
    for secret in sample.secrets:
        assert secret not in cleaned, cleaned
    assert REDACTED in cleaned
    for kept in sample.keep:
        assert kept in cleaned, cleaned


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda s: s.id)
def test_secret_is_redacted_inside_a_json_payload(sample: Sample) -> None:
    """A tool returning the same text inside a mapping (JSON-escaped on disk) leaks nothing."""
    stored = to_safe_text({"stdout": sample.text, "exit_code": 0}, redact, 100_000)
    for secret in sample.secrets:
        assert secret not in stored
        assert json.dumps(secret)[1:-1] not in stored


@pytest.mark.parametrize(("name", "text"), NEAR_MISSES, ids=[n for n, _ in NEAR_MISSES])
def test_ordinary_devops_output_survives(name: str, text: str) -> None:
    """Commit SHAs, UUIDs, digests, pod names, ARNs and prose about tokens are not secrets."""
    assert redact(text) == text


def test_corpus_covers_at_least_forty_formats() -> None:
    """The issue's floor: 40 distinct secret formats, each with a sample."""
    assert len({sample.format for sample in SAMPLES}) >= 40


@pytest.mark.parametrize("fmt", DEFAULT_FORMATS, ids=lambda f: f.name)
def test_every_built_in_format_finds_a_sample(fmt: SecretFormat) -> None:
    """Each shape in the table, alone, finds at least one sample: none is dead weight."""
    alone = SecretScanner(formats=(fmt,), keys=KeyRules(secret_keys=(), entropy_keys=()))
    assert any(alone.spans(sample.text) for sample in SAMPLES)


def test_samples_are_distinct() -> None:
    """One sample per format name, so a failure names exactly one format."""
    names = [sample.format for sample in SAMPLES]
    assert len(names) == len(set(names))
