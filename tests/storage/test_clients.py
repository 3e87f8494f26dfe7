"""Building Chroma clients: server urls are checked where they are given."""

from __future__ import annotations

import pytest

from toolwise.errors import InvalidArgumentError
from toolwise.storage.clients import check_url


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("http://127.0.0.1:8000", ("127.0.0.1", 8000, False)),
        ("http://chroma.internal", ("chroma.internal", 8000, False)),
        ("https://chroma.example.com", ("chroma.example.com", 443, True)),
    ],
)
def test_server_urls_are_parsed(url: str, expected: tuple[str, int, bool]) -> None:
    """Host, port (defaulted by scheme) and TLS come from the url."""
    assert check_url(url) == expected


@pytest.mark.parametrize(
    "url", ["localhost:8000", "ftp://host", "", "http://:8000", "http://host:99999"]
)
def test_malformed_urls_are_rejected_naming_url(url: str) -> None:
    """A url that could never connect fails at once, naming the argument."""
    with pytest.raises(InvalidArgumentError) as info:
        check_url(url)
    assert info.value.field == "url"
