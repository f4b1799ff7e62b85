"""The Debian package: `make package`'s .deb is lintian-clean, has the layout and modes it promises,
installs on this machine, its unit verifies and scores "OK" or better in `systemd-analyze security`,
its binary runs from the unit's ExecStart line (without systemd) and reports changes, and `dpkg -r`
keeps the configuration and data that `dpkg --purge` removes. The machine is left as it was found.

Several test runs share this machine: the installing test holds a lock for its whole run.
"""

from __future__ import annotations

import fcntl
import gzip
import json
import os
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, binary_path, parse_ndjson, wait_for

LOCK = Path("/tmp/fimbeat-package-test.lock")
VERSION = re.search(r"project\(fimbeat VERSION ([0-9.]+)", (REPO / "CMakeLists.txt").read_text()).group(1)
UNIT = Path("/lib/systemd/system/fimbeat.service")


def run(*cmd: str, timeout: float = 600, check: bool = True, **kwargs) -> subprocess.CompletedProcess:
    result = subprocess.run(list(cmd), capture_output=True, text=True, timeout=timeout, **kwargs)
    if check and result.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


def dpkg(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    """dpkg, waiting while another dpkg or apt-get on this machine holds dpkg's lock."""
    def attempt():
        result = run("dpkg", *args, check=False)
        return None if "lock" in result.stderr and result.returncode != 0 else result
    result = wait_for(attempt, timeout=300, message=f"dpkg's lock, held by another process (dpkg {' '.join(args)})")
    if check and result.returncode != 0:
        raise AssertionError(f"dpkg {' '.join(args)} exited {result.returncode}\n{result.stdout}\n{result.stderr}")
    return result


@pytest.fixture(scope="module")
def deb() -> Path:
    """Builds the package in the build directory of the binary under test, as `make package` does."""
    build = binary_path().parent
    if not (build / "CPackConfig.cmake").is_file():
        pytest.skip(f"{build} is not a CMake build directory with CPack (configure it with `make configure`)")
    for tool in ("cpack", "dpkg-shlibdeps", "dpkg-deb"):
        if shutil.which(tool) is None:
            pytest.skip(f"{tool} is not installed (make test-deps installs dpkg-dev)")
    run("cmake", "--build", str(build), "--parallel", "2", "--target", "fimbeat", "fim_package_files")
    run("cpack", "-G", "DEB", cwd=build)
    path = build / f"fimbeat_{VERSION}_amd64.deb"
    assert path.is_file(), f"cpack did not write {path}"
    return path


def contents(deb: Path) -> dict[str, tuple[str, str]]:
    """path -> (mode string, owner/group) of each entry of the package."""
    out = {}
    for line in run("dpkg-deb", "--contents", str(deb)).stdout.splitlines():
        fields = line.split()
        out[fields[5].removeprefix(".").rstrip("/") or "/"] = (fields[0], fields[1])
    return out


def test_package_layout_modes_and_metadata(deb):
    files = contents(deb)
    for path in ("/usr/bin/fimbeat", "/usr/lib/fimbeat/fimbeat", "/etc/fimbeat/fimbeat.yml", "/var/lib/fimbeat", "/var/log/fimbeat",
                 "/usr/share/fimbeat/fields.yml", "/usr/share/fimbeat/templates/index-template.json",
                 "/usr/share/fimbeat/templates/ilm-policy.json", "/usr/share/doc/fimbeat/copyright",
                 "/usr/share/doc/fimbeat/changelog.gz", "/usr/share/man/man1/fimbeat.1.gz",
                 "/usr/share/bash-completion/completions/fimbeat", "/lib/systemd/system/fimbeat.service"):
        assert path in files, f"{path} is not in the package"
    saved_objects = sorted(f"/usr/share/fimbeat/kibana/{p.relative_to(REPO / 'kibana')}"
                           for p in (REPO / "kibana").rglob("*.json"))
    assert saved_objects and all(path in files for path in saved_objects), "Kibana's saved objects"
    assert files["/etc/fimbeat/fimbeat.yml"] == ("-rw-------", "root/root")
    assert files["/var/lib/fimbeat"][0] == "drwx------"
    assert files["/usr/bin/fimbeat"][0] == "-rwxr-xr-x"
    assert files["/usr/lib/fimbeat/fimbeat"][0] == "-rwxr-xr-x"
    assert all(owner == "root/root" for _, owner in files.values())
    control = run("dpkg-deb", "--field", str(deb)).stdout
    depends = re.search(r"^Depends: (.*)$", control, re.M).group(1)
    for library in ("libc6", "librocksdb", "libssl3", "libcurl4", "libyaml-cpp", "libstdc++6"):
        assert library in depends, f"dpkg-shlibdeps did not find {library}: {depends}"
    assert run("dpkg-deb", "--info", str(deb), "conffiles").stdout.split() == ["/etc/fimbeat/fimbeat.yml"]
    for script in ("postinst", "prerm", "postrm"):
        run("dpkg-deb", "--info", str(deb), script)


def test_reference_config_watches_the_system_paths(deb, tmp_path):
    run("dpkg-deb", "--extract", str(deb), str(tmp_path))
    config = tmp_path / "etc" / "fimbeat" / "fimbeat.yml"
    text = config.read_text()
    for path in ("/bin", "/usr/bin", "/sbin", "/usr/sbin", "/etc"):
        assert re.search(rf"^\s+- {re.escape(path)}$", text, re.M), path
    result = run(str(binary_path()), "test", "config", "-c", str(config), "--path.home", str(tmp_path), check=False)
    assert result.returncode == 0 and "Config OK" in result.stdout, result.stderr


def test_lintian_reports_no_errors_or_warnings(deb):
    if shutil.which("lintian") is None:
        pytest.skip("lintian is not installed (make test-deps installs it)")
    result = run("lintian", "--tag-display-limit", "0", "--display-info", "--show-overrides", str(deb),
                 check=False, timeout=900)
    tags = [line for line in result.stdout.splitlines() if re.match(r"^[EWIXPO]: ", line)]
    errors = [line for line in tags if line[0] in "EW"]  # the intended modes are overridden, each with its reason
    print("lintian:\n" + "\n".join(tags))
    assert not errors, "\n".join(errors)
    assert "O: " in result.stdout, "the overrides in /usr/share/lintian/overrides/fimbeat were read"
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.fixture(scope="module")
def installed(deb):
    """The package installed on this machine for the tests below, then purged."""
    if os.geteuid() != 0:
        pytest.skip("installing a package needs root")
    with open(LOCK, "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        status = run("dpkg-query", "-W", "-f=${Status}", "fimbeat", check=False).stdout.strip()
        if status and status != "unknown ok not-installed":
            pytest.skip(f"dpkg knows a fimbeat package on this machine ({status}); purging it would change the machine")
        leftovers = [p for p in ("/etc/fimbeat", "/var/lib/fimbeat", "/var/log/fimbeat", "/usr/bin/fimbeat")
                     if Path(p).exists()]
        if leftovers:
            pytest.skip(f"{', '.join(leftovers)} exist on this machine; the package test would remove them")
        try:
            dpkg("-i", str(deb))
            yield deb
        finally:
            dpkg("--purge", "fimbeat", check=False)


def test_installed_files_and_the_unit_enabled_not_started(installed):
    assert Path("/usr/bin/fimbeat").is_file()
    assert (Path("/var/lib/fimbeat").stat().st_mode & 0o7777) == 0o700
    assert (Path("/etc/fimbeat/fimbeat.yml").stat().st_mode & 0o7777) == 0o600
    assert Path("/etc/systemd/system/multi-user.target.wants/fimbeat.service").is_symlink(), "enabled"
    postinst = run("dpkg-deb", "--info", str(installed), "postinst").stdout
    code = [line for line in postinst.splitlines() if not line.lstrip().startswith("#")]
    assert not any(re.search(r"\b(start|restart)\b", line) for line in code), "the unit is enabled, never started"
    assert run("/usr/bin/fimbeat", "version").stdout.startswith(f"fimbeat version {VERSION}")
    # The command users type acts on what the service uses, with no --path flag: the package's paths.
    exported = run("/usr/bin/fimbeat", "export", "config").stdout
    for line in ("home: /usr/share/fimbeat", "config: /etc/fimbeat", "data: /var/lib/fimbeat", "logs: /var/log/fimbeat"):
        assert line in exported, exported
    assert "standalone" in run("/usr/bin/fimbeat", "status").stdout
    # ... and a path flag given on the command line wins.
    assert "data: /tmp/elsewhere" in run("/usr/bin/fimbeat", "export", "config", "--path.data", "/tmp/elsewhere").stdout
    # The dashboards `setup --dashboards` imports are found under the unit's --path.home.
    dashboard = next((REPO / "kibana" / "dashboard").glob("*.json")).stem
    exported = run("/usr/bin/fimbeat", "export", "dashboard", "--id", dashboard, "--path.home", "/usr/share/fimbeat",
                   "-c", "/etc/fimbeat/fimbeat.yml")
    assert f'"id":"{dashboard}"' in exported.stdout.replace(" ", ""), exported.stdout[:500]
    with gzip.open("/usr/share/man/man1/fimbeat.1.gz", "rt") as man:
        page = man.read()
    assert page.startswith(".TH FIMBEAT 1") and "keystore add" in page and "--environment" in page.replace("\\-", "-")


def test_systemd_analyze_verify_and_security(installed):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (package systemd)")
    verify = run("systemd-analyze", "verify", str(UNIT), check=False)
    assert verify.returncode == 0 and not verify.stderr.strip(), verify.stdout + verify.stderr
    security = run("systemd-analyze", "security", "--offline=true", "--no-pager", str(UNIT), check=False)
    m = re.search(r"Overall exposure level for fimbeat.service: ([0-9.]+) (\w+)", security.stdout)
    assert m, security.stdout + security.stderr
    print(f"systemd-analyze security: {m.group(1)} {m.group(2)}")
    assert m.group(2) in ("OK", "SAFE", "PERFECT") and float(m.group(1)) < 5.0


def exec_start() -> list[str]:
    line = next(l for l in UNIT.read_text().splitlines() if l.startswith("ExecStart="))
    return shlex.split(line.removeprefix("ExecStart="))


def test_the_installed_binary_runs_as_the_unit_starts_it_and_reports_changes(installed, tmp_path):
    """The unit's ExecStart exactly (without systemd), its --path.config /etc/fimbeat holding a
    configuration that watches a temporary tree: a file created, changed and removed there is
    reported in the events under /var/lib/fimbeat."""
    command = exec_start()
    assert command[:4] == ["/usr/bin/fimbeat", "run", "--environment", "systemd"]
    tree = tmp_path / "tree"
    tree.mkdir()
    (tree / "present.conf").write_text("there before the start\n")
    config = Path("/etc/fimbeat/fimbeat.yml")
    config.write_text(f"""\
fimbeat.modules:
  - module: file_integrity
    paths: [{json.dumps(str(tree))}]
output.file:
  path: ${{path.data}}/events
  filename: fimbeat
logging.metrics.period: 1s
""")
    config.chmod(0o600)
    probe = tree / "probe.conf"
    stderr = tmp_path / "stderr"
    events_dir = Path("/var/lib/fimbeat/events")
    with open(stderr, "wb") as err:
        proc = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        def messages():
            return [r.get("message", "") for r in parse_ndjson(stderr.read_bytes(), str(stderr), complete_only=True)]

        wait_for(lambda: any(m.startswith("scan done") for m in messages()) or proc.poll() is not None,
                 timeout=120, message=f"the first scan of {tree}")
        assert proc.poll() is None, stderr.read_text()[-3000:]

        def actions(path: Path) -> list[str]:
            found = []
            for f in sorted(events_dir.glob("fimbeat-*.ndjson")):
                for doc in parse_ndjson(f.read_bytes(), str(f), complete_only=True):
                    if doc["file"]["path"] == str(path):
                        found.extend(doc["event"]["action"])
            return found

        def reported(path: Path, action: str) -> None:
            try:
                wait_for(lambda: action in actions(path), timeout=60, message=f"{path} {action}")
            except AssertionError as e:
                raise AssertionError(f"{e}\nfimbeat's log:\n{stderr.read_text()[-3000:]}") from None

        reported(tree / "present.conf", "initial_scan")  # the first scan, with no baseline yet
        # One step at a time: a file created and removed within the coalescing window is no change.
        probe.write_text("created by fimbeat's package test\n")
        reported(probe, "created")
        probe.write_text("changed by fimbeat's package test\n")
        reported(probe, "updated")
        probe.unlink()
        reported(probe, "deleted")
    finally:
        proc.terminate()
        assert proc.wait(10) == 0, stderr.read_text()[-3000:]
    records = parse_ndjson(stderr.read_bytes(), str(stderr))
    assert records and all("@timestamp" not in r for r in records), "under systemd the journal stamps lines"
    assert any(r["message"] == "Total metrics" for r in records)


def test_remove_keeps_configuration_and_data_and_purge_removes_them(installed):
    data_marker = Path("/var/lib/fimbeat/marker")
    data_marker.write_text("kept by dpkg -r")
    dpkg("-r", "fimbeat")
    assert not Path("/usr/bin/fimbeat").exists()
    assert Path("/etc/fimbeat/fimbeat.yml").is_file() and data_marker.is_file()
    dpkg("--purge", "fimbeat")
    assert not Path("/etc/fimbeat").exists() and not Path("/var/lib/fimbeat").exists()
    assert not Path("/var/log/fimbeat").exists()
    assert not Path("/etc/systemd/system/multi-user.target.wants/fimbeat.service").exists()
    dpkg("-i", str(installed))  # back for any test that runs after; the fixture purges it
