"""The key file: hashed secrets, atomic rewrites, and ``toolwise keys`` on the command line."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from toolwise import InvalidArgumentError
from toolwise.cli import main
from toolwise.service import KeyRing


def test_the_file_never_holds_a_secret(key_ring: KeyRing) -> None:
    """Only a digest is stored; the token itself is returned once."""
    _, token = key_ring.create(["devops"])
    secret = token.rsplit("_", 1)[1]
    assert secret not in key_ring.path.read_text()


def test_the_file_is_private(key_ring: KeyRing) -> None:
    """Mode 0600: other users cannot read the digests."""
    key_ring.create(["devops"])
    assert stat.S_IMODE(key_ring.path.stat().st_mode) == 0o600


def test_a_token_authenticates_as_its_key(key_ring: KeyRing) -> None:
    """The token finds its key; a token with a wrong secret does not."""
    key, token = key_ring.create(["devops"], read_only=True)
    assert key_ring.authenticate(token) == key
    assert key_ring.authenticate(token[:-2] + "xx") is None


def test_a_key_needs_an_agent_or_admin(key_ring: KeyRing) -> None:
    """Neither, or both, is refused naming the argument."""
    with pytest.raises(InvalidArgumentError) as neither:
        key_ring.create([])
    assert neither.value.field == "agents"
    with pytest.raises(InvalidArgumentError) as both:
        key_ring.create(["devops"], admin=True)
    assert both.value.field == "admin"


@pytest.mark.parametrize(
    "label", ["ci\n000000000000  admin  read-write  active", "x" * 201, 5], ids=repr
)
def test_a_label_that_is_not_one_short_line_is_refused(key_ring: KeyRing, label: object) -> None:
    """``keys list`` prints a line per key: a newline in a label printed one that read as
    another (admin) key; a 5,000-character label was printed whole."""
    with pytest.raises(InvalidArgumentError) as caught:
        key_ring.create(["ci"], label=label)  # type: ignore[arg-type]
    assert caught.value.field == "label"
    assert key_ring.keys() == []


def test_revoking_an_unknown_key_names_it(key_ring: KeyRing) -> None:
    """``revoke`` of an id that does not exist raises naming ``key_id``."""
    with pytest.raises(InvalidArgumentError) as refused:
        key_ring.revoke("nope")
    assert refused.value.field == "key_id"


def test_an_unreadable_file_refuses_every_key(key_ring: KeyRing) -> None:
    """A corrupted key file locks the server rather than opening it."""
    _, token = key_ring.create(["devops"])
    key_ring.path.write_text("{ not json")
    ring = KeyRing(key_ring.path)
    assert ring.configured
    assert ring.authenticate(token) is None


@pytest.mark.parametrize("action", [["list"], ["list", "--json"], ["create", "--agent", "ci"]])
def test_keys_on_an_unreadable_file_exit_2_with_one_line_saying_so(
    key_ring: KeyRing, capsys: pytest.CaptureFixture[str], action: list[str]
) -> None:
    """Not "no keys: the server listens on loopback only" (it refuses every key), and never
    rewritten over (its keys would be lost)."""
    key_ring.create(["devops"])
    key_ring.path.write_text("{ not json")
    assert main(["keys", *action, "--keys", str(key_ring.path)]) == 2
    captured = capsys.readouterr()
    assert "loopback" not in captured.out
    [line] = captured.err.strip().splitlines()
    assert line.startswith(f"toolwise: the key file {key_ring.path} cannot be read")
    assert key_ring.path.read_text() == "{ not json"


def test_keys_create_list_revoke_on_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """``toolwise keys create`` prints the token once; ``list`` never shows it; ``revoke``."""
    store = str(tmp_path / "store")
    assert main(["keys", "create", "--path", store, "--agent", "devops", "--json"]) == 0
    created = json.loads(capsys.readouterr().out)
    assert created["key"].startswith("tw_")
    assert created["agents"] == ["devops"]
    assert main(["keys", "list", "--path", store]) == 0
    listed = capsys.readouterr().out
    assert created["id"] in listed
    assert created["key"] not in listed
    assert main(["keys", "revoke", "--path", store, created["id"]]) == 0
    assert main(["keys", "list", "--path", store, "--json"]) == 0
    assert json.loads(capsys.readouterr().out.split("\n", 1)[1])[0]["revoked_at"] is not None


def test_keys_create_without_an_agent_exits_2(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A bad request prints one line and exits 2."""
    assert main(["keys", "create", "--path", str(tmp_path)]) == 2
    assert capsys.readouterr().err.startswith("toolwise: agents:")
