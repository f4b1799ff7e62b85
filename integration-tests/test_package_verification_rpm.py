"""package_verification against a real RPM database: a tiny .rpm built in the test with rpmbuild,
installed with rpm into a private database (`rpm --dbpath`, which fimbeat is pointed at with the
internal key `fimbeat.rpm_dbpath`), changed by hand, reinstalled, its %config file edited; erased
at the end.

Skipped when not running as root or when rpm/rpmbuild are missing. The package's files are
installed for real into /usr/share and /etc under a name no package uses (fimbeat-pv-rpm-test);
the package is erased and the private database removed whatever the outcome.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import read_events, wait_for, write_config, yaml_str
from test_package_verification import change_doc, docs_for, initial_doc, require_root_and

PACKAGE = "fimbeat-pv-rpm-test"
DATA_DIR = Path("/usr/share") / PACKAGE
DATA = DATA_DIR / "data.txt"
CONF_DIR = Path("/etc") / PACKAGE
CONF = CONF_DIR / "app.conf"
DATA_CONTENT = b"packaged by rpm\n"
CONF_CONTENT = b"setting = 1\n"

SPEC = f"""\
Name: {PACKAGE}
Version: 1.0
Release: 1
Summary: fimbeat package verification test
License: MIT
BuildArch: noarch

%description
fimbeat package verification test

%install
mkdir -p %{{buildroot}}{DATA_DIR} %{{buildroot}}{CONF_DIR}
printf 'packaged by rpm\\n' > %{{buildroot}}{DATA}
printf 'setting = 1\\n' > %{{buildroot}}{CONF}

%files
{DATA}
%config(noreplace) {CONF}
"""


def rpm(db: Path, *args: str) -> None:
    result = subprocess.run(["rpm", "--dbpath", str(db), *args], stdin=subprocess.DEVNULL, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode == 0, f"rpm {' '.join(args)} failed: {result.stdout}{result.stderr}"


@pytest.fixture(scope="module")
def package(tmp_path_factory) -> Path:
    """The package, built with rpmbuild: one data file and one %config file."""
    require_root_and(("rpm", "rpmbuild"), "(Debian package rpm): the RPM backend cannot be tested")
    work = tmp_path_factory.mktemp("rpm")
    spec = work / f"{PACKAGE}.spec"
    spec.write_text(SPEC)
    result = subprocess.run(["rpmbuild", "-bb", "--quiet", "--define", f"_topdir {work / 'top'}",
                             "--define", "__os_install_post %{nil}", "--define", "debug_package %{nil}", str(spec)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr
    built = work / "top" / "RPMS" / "noarch" / f"{PACKAGE}-1.0-1.noarch.rpm"
    assert built.is_file(), list((work / "top").rglob("*.rpm"))
    return built


@pytest.fixture
def installed(package: Path, tmp_path: Path):
    """(package, private database) with the package installed; erased afterwards."""
    db = tmp_path / "rpmdb"
    db.mkdir()
    try:
        rpm(db, "-i", "--nodeps", str(package))
        yield package, db
    finally:
        subprocess.run(["rpm", "--dbpath", str(db), "-e", "--nodeps", PACKAGE], capture_output=True, timeout=120)
        shutil.rmtree(DATA_DIR, ignore_errors=True)
        shutil.rmtree(CONF_DIR, ignore_errors=True)


def config_text(out: Path, db: Path, unverified: Path) -> str:
    return f"""\
fimbeat.rpm_dbpath: {yaml_str(db)}
fimbeat.modules:
  - module: file_integrity
    paths: [{yaml_str(DATA_DIR)}, {yaml_str(CONF_DIR)}]
    backend: inotify
    hash_types: [sha1]
  - module: file_integrity
    paths: [{yaml_str(unverified)}]
    package_verification: false
output.file:
  path: {yaml_str(out)}
"""


def start(workspace: Path, start_agent, db: Path):
    out = workspace / "events"
    unverified = workspace / "unverified"
    unverified.mkdir()
    agent = start_agent(write_config(workspace / "fimbeat.yml", config_text(out, db, unverified)))
    wait_for(agent.scan_done, timeout=30, message="the initial scan", agent=agent)
    return agent, out, unverified


def test_rpm_hand_change_reinstall_and_config_file(workspace, start_agent, installed):
    package, db = installed
    agent, out, _ = start(workspace, start_agent, db)
    # The start-up scan: the installed files as the package shipped them, judged by the
    # database's SHA-256 (computed in the same pass, not reported: only sha1 is configured).
    first = initial_doc(out, DATA, agent)
    assert first["package"] == {"name": PACKAGE, "version": "1.0-1", "architecture": "noarch"}, first
    assert first["file_integrity"]["package_verified"] is True, first
    assert set(first["file"]["hash"]) == {"sha1"}, first
    conf = initial_doc(out, CONF, agent)
    assert conf["file_integrity"]["package_conffile"] is True, conf
    assert conf["file_integrity"]["package_verified"] is True, conf

    # Changed by hand.
    with open(DATA, "ab") as f:
        f.write(b"backdoor\n")
    changed = change_doc(out, DATA, DATA_CONTENT + b"backdoor\n", agent, hash_type="sha1")
    assert changed["file_integrity"]["package_verified"] is False, changed
    assert changed["package"]["name"] == PACKAGE

    # Reinstalled: the package's content again, judged once rpm's transaction is over.
    rpm(db, "-i", "--nodeps", "--replacepkgs", str(package))
    restored = change_doc(out, DATA, DATA_CONTENT, agent, hash_type="sha1")
    assert restored["file_integrity"]["package_verified"] is True, restored
    assert restored["package"]["version"] == "1.0-1"

    # The %config file edited: expected, never a violation.
    CONF.write_bytes(b"setting = 2\n")
    edited = change_doc(out, CONF, b"setting = 2\n", agent, hash_type="sha1")
    assert edited["file_integrity"]["package_conffile"] is True, edited
    assert "package_verified" not in edited["file_integrity"], edited
    assert agent.stop() == 0, agent.describe()
    # rpm's temporary names (<path>;<hex>) were read again after the transaction: gone, not reported.
    noise = [d["file"]["path"] for d in read_events(out) if ";" in d["file"]["path"]]
    assert noise == [], noise


def test_rpm_verdict_waits_while_rpm_is_locked(workspace, start_agent, installed):
    _, db = installed
    agent, out, unverified = start(workspace, start_agent, db)
    initial_doc(out, DATA, agent)
    with open(db / ".rpm.lock", "a") as lock:
        fcntl.lockf(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)  # as rpm holds it during a transaction
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
    held = change_doc(out, DATA, DATA_CONTENT + b"during the transaction\n", agent, hash_type="sha1")
    assert held["file_integrity"]["package_verified"] is False, held
    assert agent.stop() == 0, agent.describe()
