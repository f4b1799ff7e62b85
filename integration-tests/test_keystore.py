"""The keystore: `fimbeat keystore create|add|list|remove`, ${KEY} resolved from the keystore before
the environment, `export config` redacting keystore values, a damaged keystore stopping the start,
and the file format of Beats' keystore, checked against a second implementation written here from
libbeat/keystore/file_keystore.go with Python's `cryptography` (AES-256-GCM, PBKDF2-HMAC-SHA512)."""

from __future__ import annotations

import base64
import json
import os
import re
import stat
from pathlib import Path

import pytest

from conftest import read_events, run_cli, wait_for, write_config, yaml_str


def keystore(fimbeat_bin: Path, data: Path, *args: str, stdin: str | None = None):
    import subprocess
    return subprocess.run([str(fimbeat_bin), "keystore", *args, "--path.data", str(data)], input=stdin,
                          capture_output=True, text=True, timeout=30)


def beats_seal(secrets: dict[str, bytes], password: bytes = b"") -> bytes:
    """A keystore file as Beats' FileKeystore.doSave writes one: "v1" + base64(salt|iv|AES-GCM(json))."""
    crypto = pytest.importorskip("cryptography.hazmat.primitives.ciphers.aead",
                                 reason="python3-cryptography is not installed (make test-deps installs it)")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    salt, iv = os.urandom(64), os.urandom(12)
    key = PBKDF2HMAC(algorithm=hashes.SHA512(), length=32, salt=salt, iterations=10000).derive(password)
    # Go's json.Encoder: keys sorted, []byte as base64, a final newline.
    plain = json.dumps({k: {"value": base64.b64encode(v).decode()} for k, v in sorted(secrets.items())},
                       separators=(",", ":")).encode() + b"\n"
    return b"v1" + base64.b64encode(salt + iv + crypto.AESGCM(key).encrypt(iv, plain, None))


def beats_open(file: bytes, password: bytes = b"") -> dict[str, bytes]:
    crypto = pytest.importorskip("cryptography.hazmat.primitives.ciphers.aead",
                                 reason="python3-cryptography is not installed (make test-deps installs it)")
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.kdf.pbkdf2 import PBKDF2HMAC
    assert file.startswith(b"v1")
    raw = base64.b64decode(file[2:], validate=True)
    salt, iv, sealed = raw[:64], raw[64:76], raw[76:]
    key = PBKDF2HMAC(algorithm=hashes.SHA512(), length=32, salt=salt, iterations=10000).derive(password)
    plain = crypto.AESGCM(key).decrypt(iv, sealed, None)
    assert plain.endswith(b"\n")
    return {k: base64.b64decode(v["value"]) for k, v in json.loads(plain).items()}


def test_create_add_list_remove_round_trip(fimbeat_bin, workspace):
    data = workspace / "data"
    assert "There is no keystore" in keystore(fimbeat_bin, data, "list").stderr
    created = keystore(fimbeat_bin, data, "create")
    assert created.returncode == 0, created.stderr
    path = data / "fimbeat.keystore"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(data.stat().st_mode) == 0o700
    assert keystore(fimbeat_bin, data, "create").returncode == 1  # exists: needs --force

    assert keystore(fimbeat_bin, data, "add", "ES_PWD", "--stdin", stdin="s3cr3t\n").returncode == 0
    assert keystore(fimbeat_bin, data, "add", "ES_API_KEY", "--stdin", stdin="id:key").returncode == 0
    again = keystore(fimbeat_bin, data, "add", "ES_PWD", "--stdin", stdin="other")
    assert again.returncode == 1 and "--force" in again.stderr
    assert keystore(fimbeat_bin, data, "add", "ES_PWD", "--stdin", "--force", stdin="changed\n").returncode == 0
    no_tty = keystore(fimbeat_bin, data, "add", "OTHER")
    assert no_tty.returncode == 1 and "--stdin" in no_tty.stderr
    assert keystore(fimbeat_bin, data, "add", "bad name", "--stdin", stdin="x").returncode == 1

    listed = keystore(fimbeat_bin, data, "list")
    assert listed.stdout.split() == ["ES_API_KEY", "ES_PWD"]
    assert "changed" not in listed.stdout and "id:key" not in listed.stdout
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert b"changed" not in path.read_bytes()
    assert beats_open(path.read_bytes()) == {"ES_API_KEY": b"id:key", "ES_PWD": b"changed"}

    assert keystore(fimbeat_bin, data, "remove", "ES_API_KEY").returncode == 0
    assert keystore(fimbeat_bin, data, "remove", "ES_API_KEY").returncode == 1
    assert keystore(fimbeat_bin, data, "list").stdout.split() == ["ES_PWD"]
    assert keystore(fimbeat_bin, data, "create", "--force").returncode == 0
    assert keystore(fimbeat_bin, data, "list").stdout.split() == []


def test_keystore_values_resolve_before_the_environment_and_are_redacted(fimbeat_bin, workspace, start_agent):
    home = workspace / "home"
    data = home / "data"
    watched = workspace / "watched"
    watched.mkdir()
    (watched / "f").write_text("x")
    config = write_config(workspace / "fimbeat.yml", f"""\
fimbeat.modules:
  - module: file_integrity
    paths: [{yaml_str(watched)}]
name: ${{AGENT_NAME}}
tags: ["${{ONLY_IN_ENV}}"]
output.file:
  path: {yaml_str(workspace / "events")}
  filename: ${{FILE_NAME}}
""")
    # `keystore add` needs path.data only: a config whose ${} are not all set yet does not stop it.
    assert keystore(fimbeat_bin, data, "create").returncode == 0
    for key, value in (("AGENT_NAME", "from-keystore"), ("FILE_NAME", "fromkeystore")):
        added = keystore(fimbeat_bin, data, "add", key, "--stdin", stdin=value)
        assert added.returncode == 0, added.stderr
    env = dict(os.environ, AGENT_NAME="from-environment", ONLY_IN_ENV="env-tag")
    exported = run_cli(fimbeat_bin, "export", "config", "-c", config, "--path.home", home, env=env)
    assert exported.returncode == 0, exported.stderr
    assert "from-keystore" not in exported.stdout and "fromkeystore" not in exported.stdout
    assert re.search(r"^name: \W?\[REDACTED\]\W?$", exported.stdout, re.M), exported.stdout
    assert re.search(r"^\s+filename: \W?\[REDACTED\]\W?$", exported.stdout, re.M), exported.stdout
    assert "env-tag" in exported.stdout  # environment values are not secrets

    agent = start_agent(config, env=env)
    docs = wait_for(lambda: read_events(workspace / "events", "fromkeystore", complete_only=True), agent=agent,
                    message="events in the file the keystore names")
    assert docs[0]["agent"]["name"] == "from-keystore" and docs[0]["tags"] == ["env-tag"]
    agent.stop()


def test_a_keystore_written_as_beats_writes_it_is_read(fimbeat_bin, workspace):
    data = workspace / "data"
    data.mkdir(mode=0o700)
    path = data / "fimbeat.keystore"
    written = {"output.elasticsearch.password": b"secret", "NAME": "ありがとう".encode(), "BINARY": b"\x00\xff\n"}
    path.write_bytes(beats_seal(written))
    path.chmod(0o600)
    listed = keystore(fimbeat_bin, data, "list")
    assert listed.returncode == 0, listed.stderr
    assert listed.stdout.split() == ["BINARY", "NAME", "output.elasticsearch.password"]
    config = write_config(workspace / "fimbeat.yml", "fimbeat.modules: [{module: file_integrity, paths: [/etc]}]\n"
                                                     "name: ${NAME}\noutput.console: {}\n")
    result = run_cli(fimbeat_bin, "test", "config", "-c", config, "--path.data", data)
    assert result.returncode == 0, result.stderr
    # fimbeat decrypts every value, and writes them back sealed anew when a key is added.
    assert keystore(fimbeat_bin, data, "add", "ADDED", "--stdin", stdin="by fimbeat").returncode == 0
    assert beats_open(path.read_bytes()) == {**written, "ADDED": b"by fimbeat"}


@pytest.mark.parametrize("damage", ["tampered", "another password", "loose mode", "other version"])
def test_a_wrong_or_corrupt_keystore_stops_the_start_with_a_clear_error(fimbeat_bin, workspace, damage):
    data = workspace / "data"
    data.mkdir(mode=0o700)
    path = data / "fimbeat.keystore"
    sealed = beats_seal({"K": b"v"}, password=b"not empty" if damage == "another password" else b"")
    if damage == "tampered":
        sealed = sealed[:40] + (b"A" if sealed[40:41] != b"A" else b"B") + sealed[41:]
    if damage == "other version":
        sealed = b"v2" + sealed[2:]
    path.write_bytes(sealed)
    path.chmod(0o644 if damage == "loose mode" else 0o600)
    config = write_config(workspace / "fimbeat.yml", "fimbeat.modules: [{module: file_integrity, paths: [/etc]}]\n"
                                                     "output.console: {}\n")
    result = run_cli(fimbeat_bin, "run", "-e", "-c", config, "--path.data", data, "--path.home", workspace)
    assert result.returncode == 1
    expected = {"tampered": "authentication tag does not match", "another password": "authentication tag does not match",
                "loose mode": "chmod 0600", "other version": "not version v1"}[damage]
    assert expected in result.stderr and str(path) in result.stderr, result.stderr
