"""package_verification against the real dpkg: a tiny .deb built in the test with dpkg-deb,
installed with dpkg, changed by hand, reinstalled, its conffile edited; purged at the end.

The module is skipped when not running as root or when dpkg/dpkg-deb are missing. The package is
installed for real into /usr/share and /etc under a name no Debian package uses
(fimbeat-pv-test), and purged whatever the outcome.
"""

from __future__ import annotations

import fcntl
import hashlib
import os
import shutil
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from conftest import read_events, run_cli, wait_for, write_config, yaml_str
from test_fanotify import fanotify_usable
from test_kibana_fields import Kql, object_panels, value_of

PACKAGE = "fimbeat-pv-test"
DATA_DIR = Path("/usr/share") / PACKAGE
DATA = DATA_DIR / "data.txt"
CONF_DIR = Path("/etc") / PACKAGE
CONF = CONF_DIR / "app.conf"
DATA_CONTENT = b"packaged content\n"
CONF_CONTENT = b"setting = 1\n"
DPKG_LOCK = Path("/var/lib/dpkg/lock-frontend")


def dpkg(*args: str) -> None:
    result = subprocess.run(["dpkg", *args], stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=120,
                            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
    assert result.returncode == 0, f"dpkg {' '.join(args)} failed: {result.stdout}{result.stderr}"


def require_root_and(tools: tuple[str, ...], why: str) -> None:
    """Skips the test unless it runs as root (it installs a package) with every one of `tools`."""
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    for tool in tools:
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed: {why}")


@pytest.fixture(scope="module")
def deb(tmp_path_factory) -> Path:
    """The package, built with dpkg-deb --build: one data file (with its md5sums) and one conffile."""
    require_root_and(("dpkg", "dpkg-deb"), "package verification is for dpkg systems")
    work = tmp_path_factory.mktemp("deb")
    root = work / "root"
    (root / "DEBIAN").mkdir(parents=True)
    (root / DATA.relative_to("/")).parent.mkdir(parents=True)
    (root / DATA.relative_to("/")).write_bytes(DATA_CONTENT)
    (root / CONF.relative_to("/")).parent.mkdir(parents=True)
    (root / CONF.relative_to("/")).write_bytes(CONF_CONTENT)
    (root / "DEBIAN" / "control").write_text(
        f"Package: {PACKAGE}\nVersion: 1.0-1\nArchitecture: all\nMaintainer: fimbeat tests <tests@localhost>\n"
        "Description: fimbeat package verification test\n")
    (root / "DEBIAN" / "conffiles").write_text(f"{CONF}\n")
    (root / "DEBIAN" / "md5sums").write_text(f"{hashlib.md5(DATA_CONTENT).hexdigest()}  {DATA.relative_to('/')}\n")
    out = work / f"{PACKAGE}.deb"
    result = subprocess.run(["dpkg-deb", "--root-owner-group", "--build", str(root), str(out)],
                            capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return out


@pytest.fixture
def installed(deb: Path):
    dpkg("--purge", PACKAGE)  # a run that was killed may have left it
    dpkg("-i", str(deb))
    yield deb
    dpkg("--purge", PACKAGE)


def config_text(out: Path, backend: str, unverified: Path) -> str:
    return f"""\
fimbeat.modules:
  - module: file_integrity
    paths: [{yaml_str(DATA_DIR)}, {yaml_str(CONF_DIR)}]
    backend: {backend}
    hash_types: [sha256]
  - module: file_integrity
    paths: [{yaml_str(unverified)}]
    package_verification: false
output.file:
  path: {yaml_str(out)}
"""


def docs_for(out: Path, path: Path, action: Optional[str] = None) -> list[dict]:
    return [d for d in read_events(out, complete_only=True)
            if d["file"]["path"] == str(path) and (action is None or action in d["event"]["action"])]


def change_doc(out: Path, path: Path, content: bytes, agent, hash_type: str = "sha256") -> dict:
    """The live document of path whose content is `content` (by its `hash_type`, which the module
    must report): dpkg's own steps may report the path more than once, the content says which
    document is the one we made."""
    digest = hashlib.new(hash_type, content).hexdigest()

    def found():
        for d in docs_for(out, path):
            if "initial_scan" not in d["event"]["action"] and d["file"].get("hash", {}).get(hash_type) == digest:
                return d
        return None

    return wait_for(found, timeout=30, message=f"a document of {path} with {hash_type} {digest}", agent=agent)


def initial_doc(out: Path, path: Path, agent) -> dict:
    return wait_for(lambda: next(iter(docs_for(out, path, "initial_scan")), None), timeout=30,
                    message=f"the initial_scan document of {path}", agent=agent)


def start(workspace: Path, start_agent, backend: str):
    out = workspace / "events"
    unverified = workspace / "unverified"
    unverified.mkdir()
    agent = start_agent(write_config(workspace / "fimbeat.yml", config_text(out, backend, unverified)))
    wait_for(agent.scan_done, timeout=30, message="the initial scan", agent=agent)
    return agent, out, unverified


def test_hand_change_reinstall_and_conffile(workspace, start_agent, installed):
    agent, out, _ = start(workspace, start_agent, "inotify")
    # The start-up scan: the installed files as the package shipped them.
    first = initial_doc(out, DATA, agent)
    assert first["package"] == {"name": PACKAGE, "version": "1.0-1", "architecture": "all"}, first
    assert first["file_integrity"]["package_verified"] is True, first
    assert "md5" not in first["file"]["hash"], "md5 is not configured: computed for the check only"
    conf = initial_doc(out, CONF, agent)
    assert conf["file_integrity"]["package_conffile"] is True, conf
    assert conf["file_integrity"]["package_verified"] is True, conf  # as shipped

    # Changed by hand: the interesting case.
    with open(DATA, "ab") as f:
        f.write(b"backdoor\n")
    changed = change_doc(out, DATA, DATA_CONTENT + b"backdoor\n", agent)
    assert "updated" in changed["event"]["action"], changed
    assert changed["file_integrity"]["package_verified"] is False, changed
    assert changed["package"]["name"] == PACKAGE

    # Reinstalled: the package's content again.
    dpkg("-i", "--force-confold", str(installed))
    restored = change_doc(out, DATA, DATA_CONTENT, agent)
    assert restored["file_integrity"]["package_verified"] is True, restored
    assert restored["package"]["version"] == "1.0-1"

    # The conffile edited: expected, never a violation.
    CONF.write_bytes(b"setting = 2\n")
    edited = change_doc(out, CONF, b"setting = 2\n", agent)
    assert edited["file_integrity"]["package_conffile"] is True, edited
    assert "package_verified" not in edited["file_integrity"], edited
    assert agent.stop() == 0, agent.describe()
    # dpkg's temporary names (.dpkg-new, .dpkg-tmp) were read again after the transaction: gone, not reported.
    noise = [d["file"]["path"] for d in read_events(out) if ".dpkg-" in d["file"]["path"]]
    assert noise == [], noise


def test_reinstall_seen_with_who_data_is_marked_package_manager(workspace, start_agent, installed):
    reason = fanotify_usable()
    if reason:
        pytest.skip(reason)
    agent, out, _ = start(workspace, start_agent, "fanotify")
    initial_doc(out, DATA, agent)
    with open(DATA, "ab") as f:
        f.write(b"changed by hand\n")
    by_hand = change_doc(out, DATA, DATA_CONTENT + b"changed by hand\n", agent)
    assert by_hand["file_integrity"]["package_verified"] is False, by_hand
    assert "change_source" not in by_hand["file_integrity"], by_hand
    dpkg("-i", "--force-confold", str(installed))
    reinstalled = change_doc(out, DATA, DATA_CONTENT, agent)
    assert reinstalled["file_integrity"]["package_verified"] is True, reinstalled
    assert reinstalled["file_integrity"]["change_source"] == "package_manager", reinstalled
    assert reinstalled["process"]["name"] == "dpkg", reinstalled
    assert agent.stop() == 0, agent.describe()


def test_verdict_waits_while_dpkg_is_locked(workspace, start_agent, installed):
    agent, out, unverified = start(workspace, start_agent, "inotify")
    initial_doc(out, DATA, agent)
    with open(DPKG_LOCK, "a") as lock:
        try:
            fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as apt holds it during a transaction
        except OSError:
            pytest.skip("another process is running dpkg or apt")
        try:
            with open(DATA, "ab") as f:
                f.write(b"during the transaction\n")
            # A change in a module that does not verify is not held: once it is out, the held one
            # (changed before it) would have been out too had it not waited.
            marker = unverified / "marker.txt"
            marker.write_text("x")
            wait_for(lambda: docs_for(out, marker, "created"), timeout=30, message="the marker", agent=agent)
            assert docs_for(out, DATA, "updated") == [], "the verdict must wait for the transaction to end"
        finally:
            fcntl.lockf(lock, fcntl.LOCK_UN)
    held = change_doc(out, DATA, DATA_CONTENT + b"during the transaction\n", agent)
    assert held["file_integrity"]["package_verified"] is False, held
    assert agent.stop() == 0, agent.describe()


def test_unexplained_changes_panel_shows_what_nothing_explains(workspace, start_agent, fimbeat_bin, installed):
    """The dashboard's "Unexplained changes" saved search, its KQL evaluated on the real documents:
    the hand change of a packaged file and a change in a tree no package owns are listed; the
    package's own reinstall, a conffile edit inside an approved change window and the start-up
    scan are not."""
    panel = next(p for p in object_panels() if p.where == "search fimbeat-unexplained-changes")
    query = Kql(panel.query)
    agent, out, unverified = start(workspace, start_agent, "inotify")
    initial = initial_doc(out, DATA, agent)
    approved = run_cli(fimbeat_bin, "approve", "-c", workspace / "fimbeat.yml", "--path.home", workspace / "home",
                       "--paths", CONF_DIR, "--for", "30m", "--reason", "CHG-1234", timeout=30)
    assert approved.returncode == 0, approved.stderr

    with open(DATA, "ab") as f:
        f.write(b"backdoor\n")
    by_hand = change_doc(out, DATA, DATA_CONTENT + b"backdoor\n", agent)
    CONF.write_bytes(b"setting = 2\n")
    edited = change_doc(out, CONF, b"setting = 2\n", agent)
    assert edited["file_integrity"]["approval"]["reason"] == "CHG-1234", edited
    dpkg("-i", "--force-confold", str(installed))
    reinstalled = change_doc(out, DATA, DATA_CONTENT, agent)
    stray = unverified / "dropped.sh"
    stray.write_text("#!/bin/sh\n")
    created = wait_for(lambda: next(iter(docs_for(out, stray, "created")), None), timeout=30,
                       message="the stray file's document", agent=agent)
    assert agent.stop() == 0, agent.describe()

    assert query.matches(by_hand) and query.matches(created)
    for explained in (initial, edited, reinstalled):
        assert not query.matches(explained), explained
    listed = {d["file"]["path"] for d in read_events(out) if query.matches(d)}
    assert str(CONF) not in listed, listed  # every change under the approved path is explained
    for column in ("package.name", "file_integrity.package_verified"):
        assert value_of(by_hand, column) is not None, column
