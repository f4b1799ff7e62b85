"""Realtime watching (issue "Realtime"): the real binary, the real kernel, both backends.

Each test starts `fimbeat run` on a fresh tree and home, waits for its start-up scan, then changes
the tree while it runs. To know that every change made so far has been reported, a test moves a
barrier: it truncates a barrier file to a new size (a write with no close, so fimbeat settles it
after the quiet period) and waits for that document. Changes made before the barrier are due no
later than the barrier, and the pipeline keeps order, so the documents between two barriers are
exactly the events of the changes made between them.
"""

from __future__ import annotations

import hashlib
import json
import os
import random
import shutil
import signal
import stat
from pathlib import Path
from typing import Any, Callable, Iterable, Optional

import pytest

from conftest import TIMESTAMP_RE, Agent, read_events, wait_for, write_config, yaml_str

QUIET = "200ms"
BARRIER = "zz-barrier"
NOBODY = 65534


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def actions(doc: dict) -> list[str]:
    action = doc["event"]["action"]
    return action if isinstance(action, list) else [action]


def previous_path(doc: dict) -> Optional[str]:
    return doc.get("file_integrity", {}).get("previous", {}).get("path")


class Live:
    """One running agent watching `root`, with barriers to delimit the events of each step."""

    def __init__(self, workspace: Path, start_agent, root: Path, extra: str = "", home: Optional[Path] = None,
                 name: str = "live", on_watching: Optional[Callable[[], Any]] = None, backend: str = "inotify"):
        self.root = root
        self.out = workspace / f"events-{name}"
        (root / BARRIER).write_bytes(b"")
        config = write_config(workspace / f"{name}.yml", (
            "fimbeat.modules:\n- module: file_integrity\n"
            f"  paths: [{yaml_str(root)}]\n  recursive: true\n  hash_types: [sha1]\n  mime_type: false\n"
            f"  realtime.quiet_period: {QUIET}\n  backend: {backend}\n{extra}"
            f"output.file:\n  path: {yaml_str(self.out)}\n"))
        kwargs: dict[str, Any] = {"name": name}
        if home is not None:
            kwargs["home"] = home
        self.agent: Agent = start_agent(config, **kwargs)
        if on_watching is not None:  # the backend's watches (and its inotify instance) exist
            try:
                wait_for(lambda: any(m.startswith("watching ") for m in self.agent.log_messages()),
                         message="the watches", agent=self.agent)
            finally:
                on_watching()
        wait_for(self.agent.scan_done, message="the start-up scan", agent=self.agent)
        self.barriers = 0
        self.seen = 0
        self.barrier()  # the start-up scan's documents are all in before the barrier's

    def docs(self) -> list[dict]:
        return read_events(self.out, complete_only=True)

    def barrier(self, timeout: float = 30.0) -> list[dict]:
        """Everything reported since the previous barrier (barrier documents left out)."""
        self.barriers += 1
        os.truncate(self.root / BARRIER, self.barriers)
        path = str(self.root / BARRIER)

        def arrived():
            docs = self.docs()
            for i in range(self.seen, len(docs)):
                if docs[i]["file"]["path"] == path and docs[i]["file"].get("size") == self.barriers:
                    return docs, i
            return None

        docs, index = wait_for(arrived, timeout=timeout, message=f"barrier {self.barriers}", agent=self.agent)
        step = [d for d in docs[self.seen:index] if d["file"]["path"] != path]
        self.seen = index + 1
        return step

    def step(self, change: Callable[[], Any]) -> list[tuple[str, str]]:
        change()
        return [(",".join(actions(d)), d["file"]["path"]) for d in self.barrier()]

    def metrics(self) -> dict:
        assert self.agent.stop() == 0, self.agent.describe()
        return self.agent.shutdown_metrics()


@pytest.fixture
def tree(workspace: Path) -> Path:
    root = workspace / "tree"
    (root / "sub").mkdir(parents=True)
    (root / "a.txt").write_bytes(b"alpha\n")
    (root / "sub" / "b.txt").write_bytes(b"bravo\n")
    return root


def fanotify_unavailable() -> Optional[str]:
    """Why the fanotify backend cannot run here (it needs CAP_SYS_ADMIN and Linux 5.9), or None."""
    if os.geteuid() != 0:
        return "the fanotify backend needs root (CAP_SYS_ADMIN)"
    import ctypes
    libc = ctypes.CDLL(None, use_errno=True)
    fan_class_notif, fan_report_dfid_name = 0x0, 0x00000c00
    fd = libc.fanotify_init(fan_class_notif | fan_report_dfid_name, os.O_RDONLY)
    if fd < 0:
        return f"fanotify_init with FAN_REPORT_DFID_NAME failed: {os.strerror(ctypes.get_errno())}"
    os.close(fd)
    return None


@pytest.fixture(params=["inotify", "fanotify"])
def backend(request) -> str:
    """Each behaviour test runs once per backend; fanotify's runs skip, saying why, where it cannot run."""
    if request.param == "fanotify" and (reason := fanotify_unavailable()):
        pytest.skip(reason)
    return request.param


@pytest.fixture
def live(workspace, start_agent, tree, backend) -> Live:
    return Live(workspace, start_agent, tree, backend=backend)


# --- one change, its exact events --------------------------------------------------------------


def test_create_and_write_is_one_created_event_with_the_final_content(live, tree):
    def create():
        with open(tree / "new.txt", "wb") as f:
            for _ in range(50):
                f.write(b"x" * 100)
                f.flush()
    create()
    docs = live.barrier()
    assert [(actions(d), d["file"]["path"]) for d in docs] == [(["created"], str(tree / "new.txt"))]
    assert docs[0]["file"]["size"] == 5000
    assert docs[0]["file"]["hash"]["sha1"] == sha1(b"x" * 5000)
    assert docs[0]["event"]["type"] == ["creation"]


def test_a_live_change_says_when_it_was_read_and_the_latency_is_measured(live, tree):
    docs = live.barrier()
    assert docs == []
    (tree / "a.txt").write_bytes(b"changed\n")
    docs = live.barrier()
    assert len(docs) == 1, docs
    created, recorded = docs[0]["event"]["created"], docs[0]["@timestamp"]
    assert TIMESTAMP_RE.match(created), created
    assert created <= recorded, (created, recorded)  # read from the kernel, then recorded by the baseline
    latency = live.metrics()["pipeline"]["live_latency_us"]
    assert latency["count"] >= 2, latency  # the change and the barriers, all live
    assert 0 < latency["p50"] <= latency["p99"] <= latency["max"], latency


def test_write_append_and_truncate_are_each_one_updated(live, tree):
    f = tree / "a.txt"
    assert live.step(lambda: f.write_bytes(b"rewritten\n")) == [("updated,attributes_modified", str(f))]
    def append():
        with open(f, "ab") as out:
            out.write(b"appended\n")
    assert live.step(append) == [("updated,attributes_modified", str(f))]
    assert live.step(lambda: os.truncate(f, 3)) == [("updated,attributes_modified", str(f))]
    [last] = [d for d in live.docs() if d["file"]["path"] == str(f)][-1:]
    assert last["file"]["hash"]["sha1"] == sha1(b"rew") and last["file"]["size"] == 3


def test_a_burst_of_writes_is_one_updated_from_the_final_content(live, tree):
    f = tree / "a.txt"

    def burst():
        for i in range(200):
            with open(f, "ab") as out:
                out.write(b"%d\n" % i)
        with open(f, "wb") as out:
            out.write(b"final\n")
    burst()
    docs = live.barrier()
    assert len(docs) <= 2, [(actions(d), d["file"].get("size")) for d in docs]  # closes may land on both sides of a look
    assert docs[-1]["file"]["hash"]["sha1"] == sha1(b"final\n")


def test_a_write_that_changes_nothing_reports_nothing(live, tree):
    f = tree / "a.txt"
    before = os.lstat(f)

    def opened_for_writing():
        with open(f, "r+b"):
            pass  # IN_CLOSE_WRITE, and nothing changed
    assert live.step(opened_for_writing) == []
    assert live.step(lambda: os.utime(f, ns=(before.st_atime_ns, before.st_mtime_ns))) == []  # the same times
    assert live.step(lambda: os.chmod(f, stat.S_IMODE(before.st_mode))) == []  # the same mode


def test_chmod_and_chown_are_attributes_modified(live, tree):
    f = tree / "a.txt"
    assert live.step(lambda: os.chmod(f, 0o600)) == [("attributes_modified", str(f))]
    if os.geteuid() != 0:
        pytest.skip("chown needs root")
    assert live.step(lambda: os.chown(f, NOBODY, NOBODY)) == [("attributes_modified", str(f))]
    last = [d for d in live.docs() if d["file"]["path"] == str(f)][-1]
    assert "uid" in last["file_integrity"]["changed_attributes"]


def test_hard_link_and_symlink_are_created(live, tree):
    assert live.step(lambda: os.link(tree / "a.txt", tree / "hard")) == [("created", str(tree / "hard"))]
    assert live.step(lambda: os.symlink("a.txt", tree / "soft")) == [("created", str(tree / "soft"))]
    soft = [d for d in live.docs() if d["file"]["path"] == str(tree / "soft")][-1]
    assert soft["file"]["type"] == "symlink"


def test_rename_within_the_tree_is_one_moved_event_with_the_previous_path(live, tree):
    src, dst = tree / "a.txt", tree / "sub" / "renamed.txt"
    docs = (os.rename(src, dst), live.barrier())[1]
    assert [(actions(d), d["file"]["path"], previous_path(d)) for d in docs] == [(["moved"], str(dst), str(src))]
    assert docs[0]["event"]["type"] == ["change"]
    assert docs[0]["file"]["hash"]["sha1"] == sha1(b"alpha\n")


def test_a_directory_rename_moves_everything_under_it(live, tree):
    os.rename(tree / "sub", tree / "moved")
    docs = live.barrier()
    assert sorted((d["file"]["path"], previous_path(d)) for d in docs) == [
        (str(tree / "moved"), str(tree / "sub")), (str(tree / "moved" / "b.txt"), str(tree / "sub" / "b.txt"))]
    assert all(actions(d) == ["moved"] for d in docs)
    # The watches moved too: a change under the new name is reported under the new name.
    assert live.step(lambda: (tree / "moved" / "c").write_bytes(b"c")) == [("created", str(tree / "moved" / "c"))]


def test_move_in_is_created_and_move_out_is_deleted(live, tree, workspace):
    outside = workspace / "outside"
    (outside / "d").mkdir(parents=True)
    (outside / "d" / "inner").write_bytes(b"inner")
    (outside / "f").write_bytes(b"f")
    got = live.step(lambda: (os.rename(outside / "f", tree / "f"), os.rename(outside / "d", tree / "d")))
    assert sorted(got) == sorted([("created", str(tree / "f")), ("created", str(tree / "d")),
                                  ("created", str(tree / "d" / "inner"))])
    # the moved-in directory is watched
    assert live.step(lambda: (tree / "d" / "later").write_bytes(b"l")) == [("created", str(tree / "d" / "later"))]
    got = live.step(lambda: os.rename(tree / "d", workspace / "gone"))
    assert sorted(got) == sorted([("deleted", str(tree / "d")), ("deleted", str(tree / "d" / "inner")),
                                  ("deleted", str(tree / "d" / "later"))])
    # its watches left with it: changes out there are not reported
    assert live.step(lambda: (workspace / "gone" / "x").write_bytes(b"x")) == []


def test_delete_and_rm_rf_of_a_subtree(live, tree):
    assert live.step(lambda: (tree / "a.txt").unlink()) == [("deleted", str(tree / "a.txt"))]
    deep = tree / "sub" / "deep"
    deep.mkdir()
    (deep / "x").write_bytes(b"x")
    live.barrier()
    got = live.step(lambda: shutil.rmtree(tree / "sub"))
    assert sorted(got) == sorted([("deleted", str(p)) for p in
                                  (tree / "sub", tree / "sub" / "b.txt", deep, deep / "x")])


def test_mkdir_then_immediate_writes_are_never_lost(live, tree):
    expected = set()

    def make():
        for i in range(20):
            d = tree / f"new{i}" / "nested"
            os.makedirs(d)
            expected.update({str(tree / f"new{i}"), str(d)})
            for j in range(5):
                (d / f"f{j}").write_bytes(b"%d-%d" % (i, j))
                expected.add(str(d / f"f{j}"))
    got = live.step(make)
    assert {p for _, p in got} == expected
    assert all(a == "created" for a, _ in got)
    # the content is the written one
    docs = {d["file"]["path"]: d for d in live.docs()}
    assert docs[str(tree / "new7" / "nested" / "f3")]["file"]["hash"]["sha1"] == sha1(b"7-3")


def test_excluded_directories_are_not_watched(workspace, start_agent, tree):
    (tree / "cache").mkdir()
    live = Live(workspace, start_agent, tree, extra="  exclude_files: ['/cache$']\n")
    assert live.step(lambda: (tree / "cache" / "x").write_bytes(b"x")) == []
    assert live.metrics()["watcher"]["realtime"]["watches"] == 2  # tree and tree/sub


def test_fimbeats_own_data_directory_inside_the_tree_is_never_reported(workspace, start_agent, tree, backend):
    # path.data (the RocksDB baseline and queue) changes with every event: watched, it would
    # feed events back into the pipeline without end.
    home = tree / "home"
    live = Live(workspace, start_agent, tree, home=home, backend=backend)
    assert any("is fimbeat's own data directory" in m for m in live.agent.log_messages())
    scanned = [d["file"]["path"] for d in live.docs()]
    assert str(tree / "a.txt") in scanned
    assert not [p for p in scanned if p.startswith(str(home / "data"))]
    assert live.step(lambda: (tree / "c.txt").write_bytes(b"charlie\n")) == [("created", str(tree / "c.txt"))]
    assert live.step(lambda: None) == []  # nothing feeds back from the writes that change caused


def test_changes_during_the_start_up_scan_are_neither_lost_nor_duplicated(workspace, start_agent, tree, backend):
    for i in range(300):
        (tree / "sub" / f"pre{i}").write_bytes(b"%d" % i)
    out = workspace / "events-during"
    config = write_config(workspace / "during.yml", (
        "fimbeat.modules:\n- module: file_integrity\n"
        f"  paths: [{yaml_str(tree)}]\n  recursive: true\n  hash_types: [sha1]\n  mime_type: false\n"
        f"  scan_files_per_sec: 150\n  realtime.quiet_period: {QUIET}\n  backend: {backend}\n"
        f"output.file:\n  path: {yaml_str(out)}\n"))
    agent = start_agent(config, name="during")
    wait_for(lambda: read_events(out, complete_only=True), message="the scan's first documents", agent=agent)
    assert not agent.scan_done(), "the throttled scan should still be running"
    for i in range(0, 300, 3):
        (tree / "sub" / f"pre{i}").write_bytes(b"changed %d" % i)
    (tree / "late").write_bytes(b"late")
    wait_for(agent.scan_done, timeout=60, message="the start-up scan", agent=agent)
    want = {str(tree / "sub" / f"pre{i}"): sha1(b"changed %d" % i if i % 3 == 0 else b"%d" % i) for i in range(300)}
    want[str(tree / "late")] = sha1(b"late")

    def final():
        last = {}
        for d in read_events(out, complete_only=True):
            last[d["file"]["path"]] = d
        return all(p in last and last[p]["file"]["hash"]["sha1"] == h for p, h in want.items())
    wait_for(final, timeout=30, message="every path's last document shows its final content", agent=agent)
    assert agent.stop() == 0
    paths = [d["file"]["path"] for d in read_events(out) if d["file"]["path"] in want]
    # Each path at most twice: the scan's view and, if the change came after the scan read it, the change.
    assert max(paths.count(p) for p in set(paths)) <= 2


# --- lost events ---------------------------------------------------------------------------------


def test_overflow_rescans_and_the_baseline_ends_equal_to_the_tree(workspace, start_agent, tree):
    if os.geteuid() != 0:
        pytest.skip("shrinking fs.inotify.max_queued_events needs root")
    knob = Path("/proc/sys/fs/inotify/max_queued_events")
    saved = knob.read_text().strip()
    knob.write_text("64\n")  # read when the agent creates its inotify instance: restored right after
    try:
        live = Live(workspace, start_agent, tree, home=workspace / "home",
                    on_watching=lambda: knob.write_text(saved + "\n"))
    finally:
        knob.write_text(saved + "\n")
    # The agent is stopped (SIGSTOP) while the flood is made, so its 64-event queue surely
    # overflows, however fast the agent would have read it.
    live.agent.proc.send_signal(signal.SIGSTOP)
    try:
        for i in range(2000):
            (tree / "sub" / f"flood{i}").write_bytes(b"%d" % i)
    finally:
        live.agent.proc.send_signal(signal.SIGCONT)
    # The overflow's rescan logs a second "scan done". A barrier written after it comes out after
    # the rescan's deletion sweep (one watcher thread, one queue into the baseline), so stopping
    # then cannot interrupt the rescan. A barrier alone can overtake a rescan still running.
    wait_for(lambda: sum(m.startswith("scan done") for m in live.agent.log_messages()) >= 2, timeout=60,
             message="the overflow's rescan", agent=live.agent)
    live.barrier(timeout=60)
    metrics = live.metrics()
    assert metrics["watcher"]["realtime"]["overflows_handled"] >= 1
    assert metrics["watcher"]["realtime"]["rescans"] >= 1
    # The baseline equals the tree: a scan-only second start finds nothing to report.
    again = Live(workspace, start_agent, tree, home=workspace / "home", name="again")
    docs = [d for d in again.docs() if d["file"]["path"] != str(tree / BARRIER)]
    assert docs == [], [(actions(d), d["file"]["path"]) for d in docs][:10]


def inotify_watches_in_use_by(uid: int) -> int:
    """Watches held by every inotify instance of the user's processes (the limit is per user)."""
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if proc.stat().st_uid != uid:
                continue
            for fd in (proc / "fd").iterdir():
                if os.readlink(fd) == "anon_inode:inotify":
                    info = (proc / "fdinfo" / fd.name).read_text()
                    total += sum(1 for line in info.splitlines() if line.startswith("inotify wd:"))
        except OSError:
            continue  # the process ended meanwhile
    return total


def test_out_of_watches_names_the_limit_then_fanotify_takes_over(workspace, start_agent, tree):
    if fanotify_unavailable():
        pytest.skip(f"the fallback to fanotify cannot run here: {fanotify_unavailable()}")
    for i in range(40):
        (tree / f"d{i:02d}").mkdir()
    knob = Path("/proc/sys/fs/inotify/max_user_watches")
    saved = knob.read_text().strip()
    # Room for a few of the tree's 43 directories only; restored as soon as the agent has tried.
    knob.write_text(f"{inotify_watches_in_use_by(os.geteuid()) + 5}\n")
    try:
        live = Live(workspace, start_agent, tree, on_watching=lambda: knob.write_text(saved + "\n"))
    finally:
        knob.write_text(saved + "\n")
    messages = live.agent.log_messages()
    assert any("fs.inotify.max_user_watches" in m and "sysctl -w" in m for m in messages), messages
    assert any("switching to the fanotify backend" in m for m in messages), messages
    late = tree / "d39" / "late.txt"  # a directory inotify could not watch
    assert live.step(lambda: late.write_bytes(b"late\n")) == [("created", str(late))]


# --- fidelity storm ------------------------------------------------------------------------------


def replay(docs: Iterable[dict]) -> dict[str, dict]:
    """The state the events describe: path → its last document, moves and deletions applied."""
    state: dict[str, dict] = {}
    for d in docs:
        path = d["file"]["path"]
        act = actions(d)
        if "deleted" in act:
            state.pop(path, None)
            continue
        if "moved" in act and previous_path(d):
            state.pop(previous_path(d), None)
        state[path] = d
    return state


def actual(root: Path) -> dict[str, dict]:
    found = {}
    for dirpath, dirnames, filenames in os.walk(root):
        found[dirpath] = {"type": "dir", "mode": stat.S_IMODE(os.lstat(dirpath).st_mode)}
        for name in filenames:
            p = os.path.join(dirpath, name)
            st = os.lstat(p)
            found[p] = {"type": "file", "size": st.st_size, "mode": stat.S_IMODE(st.st_mode),
                        "sha1": sha1(Path(p).read_bytes())}
    return found


def storm(root: Path, operations: int, dirs: int, rng: random.Random) -> tuple[set[str], list[tuple[str, str]]]:
    """Random changes at full speed. Returns the paths touched (directly or by a rename or rmdir
    of a parent) and the file renames made."""
    directories = [root / f"d{i}" for i in range(dirs)]
    for d in directories:
        d.mkdir()
    files: list[Path] = []
    touched: set[str] = set(str(d) for d in directories)
    renames: list[tuple[str, str]] = []
    extra_dirs: list[Path] = []
    for n in range(operations):
        op = rng.random()
        try:
            if op < 0.30 or not files:
                f = rng.choice(directories) / f"f{n}"
                f.write_bytes(os.urandom(rng.randint(0, 2000)))
                files.append(f)
            elif op < 0.50:
                f = rng.choice(files)
                with open(f, "ab") as out:
                    out.write(os.urandom(rng.randint(1, 500)))
            elif op < 0.60:
                os.chmod(rng.choice(files), rng.choice([0o600, 0o644, 0o640, 0o400]))
            elif op < 0.75:
                i = rng.randrange(len(files))
                dst = rng.choice(directories) / f"r{n}"
                os.rename(files[i], dst)
                renames.append((str(files[i]), str(dst)))
                touched.add(str(files[i]))
                files[i] = dst
            elif op < 0.88:
                f = files.pop(rng.randrange(len(files)))
                touched.add(str(f))
                f.unlink()
            elif op < 0.95:
                d = rng.choice(directories) / f"m{n}"
                d.mkdir()
                extra_dirs.append(d)
            elif extra_dirs:
                d = extra_dirs.pop(rng.randrange(len(extra_dirs)))
                touched.add(str(d))
                d.rmdir()
        except FileNotFoundError:
            pass
        except OSError:  # rmdir of a directory a file was renamed into
            pass
    touched.update(str(f) for f in files)
    touched.update(str(d) for d in extra_dirs)
    return touched, renames


def test_fidelity_storm_the_events_end_in_the_tree_as_it_is(workspace, start_agent, tree, backend):
    untouched = tree / "untouched"
    untouched.mkdir()
    for i in range(50):
        (untouched / f"u{i}").write_bytes(b"u%d" % i)
    live = Live(workspace, start_agent, tree, backend=backend)
    start = live.seen
    touched, renames = storm(tree, 10_000, 200, random.Random(20261121))
    live.barrier(timeout=120)
    docs = live.docs()
    storm_docs = [d for d in docs[start:] if d["file"]["path"] != str(tree / BARRIER)]
    state = replay(d for d in docs if d["file"]["path"] != str(tree / BARRIER))
    now = actual(tree)
    now.pop(str(tree / BARRIER), None)
    assert set(state) == set(now), (sorted(set(state) - set(now))[:10], sorted(set(now) - set(state))[:10])
    wrong = []
    for path, want in now.items():
        f = state[path]["file"]
        got = {"type": f["type"], "mode": int(f["mode"], 8)}
        if want["type"] == "file":
            got.update(size=f.get("size"), sha1=f.get("hash", {}).get("sha1"))
        if got != want:
            wrong.append((path, got, want))
    assert not wrong, wrong[:5]
    reported = {d["file"]["path"] for d in storm_docs} | {previous_path(d) for d in storm_docs if previous_path(d)}
    quiet = {str(p) for p in [untouched, *untouched.iterdir()]}
    assert not (reported & quiet), "a path that never changed was reported"
    moved = {(previous_path(d), d["file"]["path"]) for d in storm_docs if "moved" in actions(d)}
    as_moves = sum(1 for r in renames if r in moved)
    realtime = live.metrics()["watcher"]["realtime"]
    print(f"storm: {len(storm_docs)} events, {len(renames)} renames, {realtime['renames_paired']} paired by "
          f"cookie, {as_moves} reported as moves, {realtime['overflows_handled']} overflows")
    # A rename is paired when its moved-from and moved-to became one move. It is reported as a
    # move when the baseline knew the old path: a file renamed before fimbeat could read it under
    # its first name (busy machine) is reported as created at its new name instead.
    if realtime["overflows_handled"] == 0:  # a rescan after lost events reports deletions and creations
        assert realtime["renames_paired"] >= 0.99 * len(renames), realtime
        # A file renamed before fimbeat first read it is reported as created at its new name: how many
        # depends on scheduling (39-100 % were moves in CI runs), so no share is a pass mark here;
        # none at all is a broken path. test_rename_within_the_tree_is_one_moved_event_with_the_previous_path
        # and the tests after it check moves one by one.
        assert as_moves > 0, f"none of {len(renames)} renames was reported as a move"
