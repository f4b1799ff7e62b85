"""`backend: fanotify`: real-time documents that say who changed the file.

Each test starts the real binary with a fanotify module, lets a child process (started by the
test, so its pid, name, executable and user are known) change files, and checks the documents'
process.* and user.* fields. The whole module is skipped when the binary does not act on
`backend: fanotify` yet (its `test config` rejects it or warns that it is not acted on), when not
running as root, or when this kernel cannot give fanotify file handles.
"""

from __future__ import annotations

import ctypes
import os
import shutil
import tempfile
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from conftest import read_events, run_cli, wait_for, write_config, yaml_str

PYTHON = "/usr/bin/python3"
# fanotify_init flags: FAN_CLASS_NOTIF | FAN_REPORT_DFID_NAME, FAN_UNLIMITED_QUEUE (needs CAP_SYS_ADMIN).
FAN_REPORT_DFID_NAME = 0x00000400 | 0x00000800
FAN_UNLIMITED_QUEUE = 0x00000010


def fanotify_usable() -> Optional[str]:
    """Why this machine cannot run the fanotify backend, or None when it can."""
    if os.geteuid() != 0:
        return "the fanotify backend needs root (CAP_SYS_ADMIN)"
    libc = ctypes.CDLL(None, use_errno=True)
    if not hasattr(libc, "fanotify_init"):
        return "libc has no fanotify_init"
    fd = libc.fanotify_init(FAN_REPORT_DFID_NAME | FAN_UNLIMITED_QUEUE, os.O_RDONLY)
    if fd < 0:
        return f"fanotify_init failed: {os.strerror(ctypes.get_errno())} (Linux 5.9+ and CAP_SYS_ADMIN needed)"
    os.close(fd)
    return None


def config_text(paths: list[Path], out: Path, recursive: bool = True, excludes: str = "[]") -> str:
    return f"""\
fimbeat.modules:
  - module: file_integrity
    paths: [{", ".join(yaml_str(p) for p in paths)}]
    recursive: {str(recursive).lower()}
    backend: fanotify
    exclude_files: {excludes}
output.file:
  path: {yaml_str(out)}
"""


@pytest.fixture(scope="module", autouse=True)
def fanotify_backend_supported(fimbeat_bin: Path, tmp_path_factory) -> None:
    reason = fanotify_usable()
    if reason:
        pytest.skip(reason)
    work = tmp_path_factory.mktemp("fanotify-probe")
    config = write_config(work / "fimbeat.yml", config_text([work], work / "out"))
    result = run_cli(fimbeat_bin, "test", "config", "-c", config)
    said = result.stdout + result.stderr
    if result.returncode != 0 or "not acted on" in said or "not implemented" in said:
        pytest.skip(f"this fimbeat does not run `backend: fanotify` yet: {said.strip()[:300]}")


class Writer:
    """A python child that runs one step each time the test tells it to, then waits for the next."""

    STEPS = r"""
import os, sys
steps = {
    'create': lambda p: open(p, 'w').write('hello'),
    'append': lambda p: open(p, 'a').write(' world'),
    'chmod': lambda p: os.chmod(p, 0o600),
    'rename': lambda p: os.rename(p, p + '.renamed'),
    'delete': lambda p: os.unlink(p),
}
held = {}
def hold(p):  # create and write, flushed to the file, but keep it open
    f = open(p, 'w')
    f.write('hello')
    f.flush()
    held[p] = f
steps['hold'] = hold
steps['release'] = lambda p: held.pop(p).close()
for line in sys.stdin:
    step, path = line.rstrip('\n').split(' ', 1)
    steps[step](path)
    print('ok', flush=True)
"""

    def __init__(self, cwd: Path, uid: Optional[int] = None):
        def drop_privileges() -> None:
            if uid is not None:
                os.setgid(uid)
                os.setuid(uid)

        self.proc = subprocess.Popen([PYTHON, "-c", self.STEPS], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     text=True, cwd=cwd, preexec_fn=drop_privileges)

    @property
    def pid(self) -> int:
        return self.proc.pid

    def do(self, step: str, path: Path) -> None:
        assert self.proc.stdin and self.proc.stdout
        self.proc.stdin.write(f"{step} {path}\n")
        self.proc.stdin.flush()
        assert self.proc.stdout.readline().strip() == "ok", f"the child failed to {step} {path}"

    def close(self) -> None:
        if self.proc.stdin:
            self.proc.stdin.close()
        self.proc.wait(timeout=10)


@pytest.fixture
def writers():
    started: list[Writer] = []

    def start(cwd: Path, uid: Optional[int] = None) -> Writer:
        w = Writer(cwd, uid)
        started.append(w)
        return w

    yield start
    for w in started:
        w.close()


def realtime_docs(out: Path, path: Path) -> list[dict]:
    """Documents for `path` that came from real-time watching (not the initial scan)."""
    return [d for d in read_events(out, complete_only=True)
            if d["file"]["path"] == str(path) and "initial_scan" not in d["event"]["action"]]


def wait_for_action(out: Path, path: Path, action: str, agent) -> dict:
    return wait_for(lambda: next((d for d in realtime_docs(out, path) if action in d["event"]["action"]), None),
                    message=f"a {action!r} document for {path}", agent=agent)


def assert_who(doc: dict, writer: Writer, user: str) -> None:
    process = doc.get("process", {})
    assert process.get("pid") == writer.pid, doc
    assert process.get("name") == "python3", doc
    assert process.get("executable") == os.path.realpath(PYTHON), doc
    assert doc.get("user", {}).get("name") == user, doc


def start_watching(workspace: Path, start_agent, root: Path, **kwargs):
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", config_text([root], out, **kwargs))
    agent = start_agent(config)
    wait_for(agent.scan_done, message="the initial scan", agent=agent)
    return agent, out


def test_create_write_rename_delete_carry_the_process_and_user(workspace, start_agent, writers):
    root = workspace / "watched"
    root.mkdir()
    agent, out = start_watching(workspace, start_agent, root)
    writer = writers(root)
    target = root / "report.txt"

    writer.do("create", target)
    assert_who(wait_for_action(out, target, "created", agent), writer, "root")
    writer.do("append", target)
    assert_who(wait_for_action(out, target, "updated", agent), writer, "root")
    writer.do("rename", target)
    renamed = Path(str(target) + ".renamed")
    new_name = wait_for(lambda: realtime_docs(out, renamed), message=f"a document for {renamed}", agent=agent)
    assert_who(new_name[-1], writer, "root")
    writer.do("delete", renamed)
    deleted = wait_for_action(out, renamed, "deleted", agent)
    assert_who(deleted, writer, "root")
    assert agent.stop() == 0, agent.describe()


def test_the_user_is_the_writers_effective_user(workspace, start_agent, writers, request):
    # pytest's own directories are private to root: the tree nobody writes in lies in a public one.
    public = Path(tempfile.mkdtemp(prefix="fimbeat-fanotify-", dir="/tmp"))
    request.addfinalizer(lambda: shutil.rmtree(public, ignore_errors=True))
    os.chmod(public, 0o755)
    root = public / "shared"
    root.mkdir()
    os.chmod(root, 0o777)
    agent, out = start_watching(workspace, start_agent, root)
    writer = writers(Path("/"), uid=65534)
    target = root / "by-nobody.txt"
    writer.do("create", target)
    doc = wait_for_action(out, target, "created", agent)
    assert doc["process"]["pid"] == writer.pid
    assert doc["user"]["name"] == "nobody"
    assert str(doc["user"]["id"]) == "65534"
    assert agent.stop() == 0, agent.describe()


def test_the_last_of_two_writers_is_reported(workspace, start_agent, writers):
    root = workspace / "watched"
    root.mkdir()
    agent, out = start_watching(workspace, start_agent, root)
    first, second = writers(root), writers(root)
    target = root / "contended.txt"
    # Both write within one coalescing window: the first keeps the file open (its write waits for a
    # close or the quiet period), the second appends and closes, which settles the file now.
    first.do("hold", target)
    second.do("append", target)
    wait_for(lambda: any(d.get("process", {}).get("pid") == second.pid for d in realtime_docs(out, target)),
             message=f"a document for {target} naming the second writer", agent=agent)
    docs = realtime_docs(out, target)
    assert [d["process"]["pid"] for d in docs] == [second.pid], "the first writer's content is in it too"
    first.do("release", target)
    assert agent.stop() == 0, agent.describe()


def test_fimbeats_own_writes_are_not_reported(workspace, start_agent, writers):
    # The output directory lies inside the watched tree: without the own-pid filter every
    # document written would be a change to report, and so on forever.
    root = workspace / "watched"
    root.mkdir()
    out = root / "events"
    config = write_config(workspace / "fimbeat.yml", config_text([root], out))
    agent = start_agent(config)
    wait_for(agent.scan_done, message="the initial scan", agent=agent)
    writer = writers(root)
    marker = root / "marker.txt"
    writer.do("create", marker)
    wait_for_action(out, marker, "created", agent)
    own = [d for d in read_events(out, complete_only=True)
           if d["file"]["path"].startswith(str(out)) and "initial_scan" not in d["event"]["action"]]
    assert own == [], own
    assert agent.stop() == 0, agent.describe()


def test_the_kernel_does_not_report_changes_in_fimbeats_own_directories(workspace, start_agent, writers):
    # Every event makes fimbeat write its database (path.data) and its output: with one mark over
    # the whole filesystem, each of those writes would wake the backend only to be dropped as its
    # own. Ignore marks (FAN_MARK_IGNORE, Linux 6.0) keep them in the kernel.
    release = tuple(int(x) for x in os.uname().release.split(".")[:2] if x.isdigit())
    if release < (6, 0):
        pytest.skip(f"FAN_MARK_IGNORE needs Linux 6.0; this kernel is {os.uname().release}")
    root = workspace / "watched"
    root.mkdir()
    agent, out = start_watching(workspace, start_agent, root)
    writer = writers(root)
    for i in range(30):
        writer.do("create", root / f"f{i}")
    wait_for_action(out, root / "f29", "created", agent)
    assert agent.stop() == 0, agent.describe()
    fanotify = agent.shutdown_metrics()["watcher"]["fanotify"]
    assert fanotify["reported"] >= 30
    # A few may come from before the marks were placed; 30 changes made at least 60 own writes.
    assert fanotify["own_ignored"] <= 5, fanotify
