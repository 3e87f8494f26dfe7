"""Secret detection for the redactor: shapes, key names, and the scanner that joins them."""

from toolwise.recording.secrets.fields import (
    DEFAULT_ENTROPY_KEYS,
    DEFAULT_SECRET_KEYS,
    DEFAULT_WORD_KEYS,
    KeyRules,
    looks_like_credential,
    shannon_entropy,
)
from toolwise.recording.secrets.formats import DEFAULT_FORMATS, SecretFormat
from toolwise.recording.secrets.scanner import SecretScanner

__all__ = [
    "DEFAULT_ENTROPY_KEYS",
    "DEFAULT_FORMATS",
    "DEFAULT_SECRET_KEYS",
    "DEFAULT_WORD_KEYS",
    "KeyRules",
    "SecretFormat",
    "SecretScanner",
    "looks_like_credential",
    "shannon_entropy",
]
