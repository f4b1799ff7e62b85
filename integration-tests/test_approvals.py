"""Approved change windows (issue 21): `fimbeat approve` with the real binary and the real kernel.

Each test runs `fimbeat run` on a tree with an inotify backend and a file output, changes files
under an approved directory and elsewhere, and reads the documents: a change made under the
approved path within the window carries file_integrity.approval.{id,reason,expires}, others do
not. The approval reaches the agent over its control socket (<path.data>/fimbeat.sock) or, when
no agent runs, is recorded for its next start.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import stat
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Optional

import pytest

from conftest import TIMESTAMP_RE, read_events, run_cli, wait_for, write_config, yaml_str

NOBODY = 65534
APPROVED_RE = re.compile(r"^approved ([0-9a-f]{8}) until (\S+): (.*) \((.*)\)")


class Setup:
    def __init__(self, workspace: Path, fimbeat_bin: Path):
        self.bin = fimbeat_bin
        self.home = workspace / "home"
        self.data = self.home / "data"
        self.root = workspace / "tree"
        self.approved = self.root / "approved"
        self.other = self.root / "other"
        self.approved.mkdir(parents=True)
        self.other.mkdir()
        self.out = workspace / "events"
        self.config = write_config(workspace / "fimbeat.yml", (
            "fimbeat.modules:\n- module: file_integrity\n"
            f"  paths: [{yaml_str(self.root)}]\n  recursive: true\n  hash_types: [sha1]\n  mime_type: false\n"
            "  realtime.quiet_period: 100ms\n  backend: inotify\n"
            f"output.file:\n  path: {yaml_str(self.out)}\n"))

    def approve(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
        done = run_cli(self.bin, "approve", "-c", self.config, "--path.home", self.home, *args, timeout=30)
        assert done.returncode == expect, f"approve {args}: {done.returncode}\n{done.stdout}\n{done.stderr}"
        return done

    def approve_paths(self, *paths: Path, duration: str = "30m", reason: str = "CHG-1234") -> tuple[str, str, str]:
        """(id, expires, stdout) of a new approval."""
        args = [a for p in paths for a in ("--paths", str(p))]
        done = self.approve(*args, "--for", duration, "--reason", reason)
        m = APPROVED_RE.match(done.stdout)
        assert m, done.stdout
        return m.group(1), m.group(2), done.stdout

    def listed_ids(self) -> list[str]:
        lines = self.approve("--list").stdout.splitlines()
        return [line.split()[0] for line in lines[1:]] if lines and lines[0].startswith("ID") else []

    def document(self, path: Path, agent, content: bytes) -> dict:
        """Writes `content` to `path` and returns the document of that write (matched by its size)."""
        path.write_bytes(content)

        def found():
            for d in reversed(read_events(self.out, complete_only=True)):
                if d["file"]["path"] == str(path) and d["file"].get("size") == len(content) and \
                        d["event"]["action"] != ["initial_scan"]:
                    return d
            return None

        return wait_for(found, timeout=30, message=f"the document of {path}", agent=agent)


def approval_of(doc: dict) -> Optional[dict]:
    return doc.get("file_integrity", {}).get("approval")


def started(setup: Setup, start_agent, name: str = "agent"):
    agent = start_agent(setup.config, name=name)
    wait_for(agent.scan_done, message="the start-up scan", agent=agent)
    wait_for(lambda: setup.data.joinpath("fimbeat.sock").is_socket(), message="the control socket", agent=agent)
    return agent


@pytest.fixture
def setup(workspace, fimbeat_bin) -> Setup:
    if os.geteuid() != 0:
        pytest.skip("fimbeat approve and its control socket are root's; run the tests as root")
    return Setup(workspace, fimbeat_bin)


def test_approve_while_running_marks_changes_under_the_path_only(setup, start_agent):
    agent = started(setup, start_agent)
    sock = setup.data / "fimbeat.sock"
    assert stat.S_IMODE(sock.lstat().st_mode) == 0o600
    approval, expires, out = setup.approve_paths(setup.approved)
    assert "no agent is running" not in out
    assert TIMESTAMP_RE.match(expires)

    inside = setup.document(setup.approved / "nginx.conf", agent, b"worker_processes 4;\n")
    (setup.approved / "sites").mkdir()
    nested = setup.document(setup.approved / "sites" / "default", agent, b"server {}\n")
    elsewhere = setup.document(setup.other / "hosts", agent, b"127.0.0.1 x\n")
    for doc in (inside, nested):
        assert approval_of(doc) == {"id": approval, "reason": "CHG-1234", "expires": expires}, doc
    assert approval_of(elsewhere) is None, elsewhere
    assert setup.listed_ids() == [approval]
    assert any(m.startswith(f"approved changes: {approval} (CHG-1234)") for m in agent.log_messages())
    assert agent.stop() == 0, agent.describe()
    assert not sock.exists(), "the control socket is removed at stop"


def test_approve_while_stopped_is_honoured_after_start_survives_a_restart_and_can_be_revoked(setup, start_agent):
    approval, expires, out = setup.approve_paths(setup.approved, reason="CHG-7 stopped")
    assert "no agent is running" in out
    assert stat.S_IMODE((setup.data / "approvals.json").stat().st_mode) == 0o600

    first = started(setup, start_agent, "first")
    doc = setup.document(setup.approved / "a.conf", first, b"one\n")
    assert approval_of(doc) == {"id": approval, "reason": "CHG-7 stopped", "expires": expires}, doc
    assert first.stop() == 0, first.describe()

    second = started(setup, start_agent, "second")
    doc = setup.document(setup.approved / "a.conf", second, b"two!\n")
    assert approval_of(doc) == {"id": approval, "reason": "CHG-7 stopped", "expires": expires}, doc
    revoked = setup.approve("--revoke", approval)
    assert revoked.stdout.startswith(f"revoked {approval}:"), revoked.stdout
    assert "no agent is running" not in revoked.stdout
    doc = setup.document(setup.approved / "a.conf", second, b"three\n")
    assert approval_of(doc) is None, doc
    assert setup.approve("--list").stdout == "no current approvals\n"
    unknown = setup.approve("--revoke", approval, expect=1)
    assert approval in unknown.stderr
    assert second.stop() == 0, second.describe()


def test_an_approval_expires_on_its_own(setup, start_agent):
    agent = started(setup, start_agent)
    approval, expires, _ = setup.approve_paths(setup.approved, duration="2s", reason="short")
    during = setup.document(setup.approved / "x.conf", agent, b"during\n")
    # Approved exactly when the change was read before the expiry (the verdict is the change's time).
    assert (approval_of(during) is not None) == (during["event"]["created"] < expires), (during, expires)
    wait_for(lambda: approval not in setup.listed_ids(), timeout=30, message="the approval to expire", agent=agent)
    after = setup.document(setup.approved / "x.conf", agent, b"after the window\n")
    assert after["event"]["created"] >= expires
    assert approval_of(after) is None, after
    stored = json.loads((setup.data / "approvals.json").read_text())
    assert stored["version"] == 1 and stored["approvals"] == [], stored
    assert agent.stop() == 0, agent.describe()


def test_a_damaged_approvals_file_is_reported_and_replaced_and_never_stops_the_agent(setup, start_agent):
    setup.data.mkdir(parents=True)
    (setup.data / "approvals.json").write_bytes(b"{\"version\":1,\"approvals\":[{\"id\":")
    agent = started(setup, start_agent)
    assert any("cannot be read" in m and "approvals.json" in m for m in agent.log_messages()), agent.describe()
    assert (setup.data / "approvals.json.corrupt").read_bytes().startswith(b"{\"version\":1")
    approval, _, _ = setup.approve_paths(setup.approved)
    assert approval_of(setup.document(setup.approved / "y.conf", agent, b"y\n"))["id"] == approval
    assert json.loads((setup.data / "approvals.json").read_text())["approvals"][0]["id"] == approval
    assert agent.stop() == 0, agent.describe()


def test_bad_command_lines_are_refused(setup):
    for args in (["--list", "--revoke", "abc"], ["--paths", str(setup.approved), "--for", "30m"],
                 ["--paths", "relative/dir", "--for", "30m", "--reason", "x"], ["--paths", "/etc", "--for", "soon",
                                                                               "--reason", "x"], []):
        done = run_cli(setup.bin, "approve", "-c", setup.config, "--path.home", setup.home, *args)
        assert done.returncode == 1, (args, done.stdout, done.stderr)
        assert "approve" in done.stderr or "--" in done.stderr, (args, done.stderr)
    done = run_cli(setup.bin, "run", "--list", "-c", setup.config)
    assert done.returncode == 1 and "--list only goes with `fimbeat approve`" in done.stderr, done.stderr


def setpriv_nobody(*extra: str) -> list[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is missing: cannot run a client as another user")
    return [setpriv, "--reuid", str(NOBODY), "--regid", str(NOBODY), "--clear-groups", *extra, "--"]


def test_a_non_root_client_is_refused(setup, start_agent, workspace):
    agent = started(setup, start_agent)
    # The command itself refuses a non-root user.
    done = subprocess.run([*setpriv_nobody(), str(setup.bin), "approve", "--list", "-c", str(setup.config),
                           "--path.home", str(setup.home), "--strict.perms=false"],
                          capture_output=True, text=True, timeout=30)
    assert done.returncode == 1 and "must run as root" in done.stderr, (done.stdout, done.stderr)
    # A client that is not root but may open the socket file (CAP_DAC_OVERRIDE kept) is refused by
    # the agent on its credentials (SO_PEERCRED), not by the file's mode.
    client = workspace / "client.py"
    client.write_text(
        "import json, socket, sys\n"
        "s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)\n"
        "s.connect(sys.argv[1])\n"
        "try:\n"
        "    s.sendall(json.dumps({'version': 1, 'command': 'approve', 'paths': ['/'], 'for_ms': 60000,"
        " 'reason': 'not root'}).encode() + b'\\n')\n"
        "except BrokenPipeError:\n"  # the agent refuses on connect and may close before the request
        "    pass\n"
        "print(s.makefile().readline().strip())\n")
    os.chmod(workspace, 0o755)
    os.chmod(client, 0o644)
    wrapper = setpriv_nobody("--inh-caps", "+dac_override", "--ambient-caps", "+dac_override")
    probe = subprocess.run([*wrapper, "cat", "/proc/self/status"], capture_output=True, text=True, timeout=10)
    effective = re.search(r"^CapEff:\s*([0-9a-f]+)$", probe.stdout, re.M)
    if probe.returncode != 0 or effective is None or not int(effective.group(1), 16) & 2:
        pytest.skip(f"setpriv cannot keep CAP_DAC_OVERRIDE for uid {NOBODY} here: {probe.stderr.strip()[:200]}")
    answer = subprocess.run([*wrapper, sys.executable, str(client), str(setup.data / "fimbeat.sock")],
                            capture_output=True, text=True, timeout=30)
    assert answer.returncode == 0, answer.stderr
    assert json.loads(answer.stdout) == {"error": "refused: fimbeat's control socket answers root only"}
    assert setup.listed_ids() == []
    assert any(m.startswith(f"refused a control request from uid {NOBODY}") for m in agent.log_messages())
    assert agent.stop() == 0, agent.describe()
