"""Never blind, never silent: what a hostile tester tries (faults, full disks, damaged files, deep
trees, reduced privileges, signals) ends in the change being reported or in a loud, specific
refusal. The real binary, each fault made for real where this machine allows it (loop-mounted
file systems, flipped bytes, setpriv); a test that cannot make its fault here says why and skips.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import shutil
import signal
import subprocess
import time
from pathlib import Path

import pytest

from conftest import read_events, run_cli, wait_for, write_config, yaml_str
from es_endpoint import EsEndpoint


def module(tree: Path, extra: str = "") -> str:
    return ("fimbeat.modules:\n- module: file_integrity\n"
            f"  paths: [{yaml_str(tree)}]\n  recursive: true\n  mime_type: false\n"
            "  realtime.quiet_period: 50ms\n" + extra)


def file_output(out: Path) -> str:
    return f"output.file:\n  path: {yaml_str(out)}\n"


def paths_of(docs: list[dict]) -> list[str]:
    return [d["file"]["path"] for d in docs]


@contextlib.contextmanager
def loop_mounted_ext4(where: Path, megabytes: int):
    """A small ext4 file system of its own, loop-mounted at `where` (root, mkfs.ext4 and loop devices needed)."""
    if os.geteuid() != 0 or not shutil.which("mkfs.ext4") or not Path("/dev/loop-control").exists():
        pytest.skip("a loop-mounted file system needs root, mkfs.ext4 (e2fsprogs) and /dev/loop-control")
    image = where.with_suffix(".img")
    with open(image, "wb") as f:
        f.truncate(megabytes << 20)
    subprocess.run(["mkfs.ext4", "-q", "-F", str(image)], check=True)
    where.mkdir()
    mounted = subprocess.run(["mount", "-o", "loop", str(image), str(where)], capture_output=True, text=True)
    if mounted.returncode != 0:
        pytest.skip(f"cannot loop-mount a file system here: {mounted.stderr.strip()}")
    try:
        yield where
    finally:
        subprocess.run(["umount", "-l", str(where)], check=False)


def fill(directory: Path, leave: int = 0) -> Path:
    """Writes a filler file until the file system has at most `leave` bytes free."""
    filler = directory / "filler"
    with open(filler, "wb") as f:
        chunk = b"\0" * (1 << 16)
        try:
            while True:
                st = os.statvfs(directory)
                free = st.f_bavail * st.f_frsize
                if free <= leave:
                    break
                f.write(chunk[: min(len(chunk), max(4096, free - leave))])
                f.flush()
        except OSError:
            pass  # full
    return filler


def free_bytes(directory: Path) -> int:
    st = os.statvfs(directory)
    return st.f_bavail * st.f_frsize


def final_states_lost(tree: Path, docs: list[dict], deleted: list[Path]) -> list[str]:
    """Paths whose last document does not say what the path is now: the file's content (SHA-1),
    or that it is gone."""
    last: dict[str, dict] = {}
    for d in docs:
        last[d["file"]["path"]] = d
    lost = []
    for path in sorted(tree.iterdir()):
        doc = last.get(str(path))
        want = hashlib.sha1(path.read_bytes()).hexdigest()  # the default hash_types: [sha1]
        if doc is None or doc["file"].get("hash", {}).get("sha1") != want:
            lost.append(str(path))
    for path in deleted:
        doc = last.get(str(path))
        if doc is None or "deleted" not in doc["event"]["action"]:
            lost.append(str(path))
    return lost


# --- 1. disk full on path.data ------------------------------------------------------------------


@pytest.mark.parametrize("min_free", ["4MiB", "0"], ids=["reserve", "no-reserve"])
def test_a_full_disk_pauses_the_watcher_and_no_final_state_is_lost(workspace, start_agent, min_free):
    """With a reserve, fimbeat pauses before the disk is full; with none (queue.min_free: 0) RocksDB
    meets the full disk itself, and the failed write must be an error fimbeat recovers from, not an
    abort. Either way it keeps running and, once there is room, reports every path's final state."""
    with loop_mounted_ext4(workspace / "data", 24) as data:
        tree = workspace / "tree"
        tree.mkdir()
        for i in range(200):
            (tree / f"f{i:03}").write_text(f"{i}\n")
        config = write_config(workspace / "fimbeat.yml", module(tree) + file_output(workspace / "out") +
                              f"path.data: {yaml_str(data / 'fimbeat')}\nqueue.min_free: {yaml_str(min_free)}\n")
        agent = start_agent(config)
        wait_for(agent.scan_done, message="the start-up scan", agent=agent)
        filler = fill(data)
        deleted = []
        for round_ in range(30):
            for i in range(200 - len(deleted)):
                (tree / f"f{i:03}").write_text(f"round {round_} file {i} " + "x" * 200 + "\n")
            (tree / f"new{round_:02}").write_text(f"new {round_}\n")
            if round_ < 10:
                (tree / f"f{199 - round_:03}").unlink()
                deleted.append(tree / f"f{199 - round_:03}")
            time.sleep(0.1)
        paused = "queue.min_free keeps" if min_free != "0" else "refuses writes"
        wait_for(lambda: any(paused in m for m in agent.log_messages()), timeout=30,
                 message=f"a log line saying why watching pauses ({paused})", agent=agent)
        assert agent.running(), agent.describe()
        filler.unlink()
        room = time.monotonic()

        def settled() -> bool:
            return not final_states_lost(tree, read_events(workspace / "out", complete_only=True), deleted)

        wait_for(settled, timeout=60, message="every path's final state reported after the disk had room", agent=agent)
        recovered = time.monotonic() - room
        print(f"min_free {min_free}: every final state reported {recovered:.1f} s after the disk had room")
        assert agent.stop() == 0, agent.describe()
        assert not final_states_lost(tree, read_events(workspace / "out"), deleted)


def test_starting_on_a_nearly_full_disk_waits_for_room_instead_of_aborting(workspace, start_agent):
    with loop_mounted_ext4(workspace / "data", 24) as data:
        tree = workspace / "tree"
        tree.mkdir()
        (tree / "a").write_text("a\n")
        filler = fill(data, leave=1_500_000)
        config = write_config(workspace / "fimbeat.yml", module(tree) + file_output(workspace / "out") +
                              f"path.data: {yaml_str(data / 'fimbeat')}\nqueue.min_free: 4MiB\n")
        agent = start_agent(config)
        wait_for(lambda: any("queue.min_free" in m for m in agent.log_messages()), timeout=30,
                 message="the reserve named in the log", agent=agent)
        assert agent.running(), agent.describe()
        filler.unlink()
        wait_for(lambda: {"/".join(p.split("/")[-1:]) for p in paths_of(read_events(workspace / "out"))} >= {"a"},
                 timeout=30, message="the tree reported once there is room", agent=agent)
        assert agent.stop() == 0, agent.describe()


# --- 2. a damaged baseline block ---------------------------------------------------------------


def flip_bytes_in_the_largest_table(db: Path) -> Path:
    """64 bytes inverted in the middle of the database's largest table file: a data block whose
    checksum fails, as a failing disk or a stray write leaves it."""
    tables = sorted(db.glob("*.sst"), key=lambda p: p.stat().st_size)
    assert tables, sorted(p.name for p in db.iterdir())
    table = tables[-1]
    data = bytearray(table.read_bytes())
    middle = len(data) // 2
    data[middle:middle + 64] = bytes(b ^ 0xFF for b in data[middle:middle + 64])
    table.write_bytes(bytes(data))
    return table


def lost_ranges(messages: list[str]) -> list[tuple[str, str]]:
    """The baseline key ranges the rebuild's log line says could not be read."""
    ranges = []
    for m in messages:
        for after, before in re.findall(r"baseline records after (\S+) and before ([^;.\s]+)", m):
            ranges.append((after, before))
    return ranges


def test_a_damaged_baseline_block_is_reported_and_rebuilt_and_no_change_is_lost(workspace, start_agent):
    """Before: the start looked normal, the deletion sweep stopped at the bad block and every later
    change to a path whose record lived in it was lost, for ever. Now the damage is found at start,
    the database moved aside and rebuilt from every readable record, and nothing is lost but the
    deletions of paths whose records the damage took (named by range in the log)."""
    tree = workspace / "tree"
    tree.mkdir()
    count = 3000
    for i in range(count):
        (tree / f"f{i:04}").write_text(f"file {i} " + "x" * (i % 97) + "\n")
    config = write_config(workspace / "fimbeat.yml", module(tree) + file_output(workspace / "out"))
    agent = start_agent(config)
    wait_for(lambda: len(read_events(workspace / "out", complete_only=True)) == count + 1, timeout=60, agent=agent)
    assert agent.stop() == 0, agent.describe()
    db = workspace / "home" / "data" / "fimbeat.db"
    flip_bytes_in_the_largest_table(db)
    deleted = [tree / f"f{i:04}" for i in range(150, count, 300)]  # 10, across the key range
    for path in deleted:
        path.unlink()
    first_run = len(read_events(workspace / "out"))

    again = start_agent(config, name="again")
    wait_for(again.scan_done, timeout=60, message="the start-up scan", agent=again)
    messages = again.log_messages()
    assert any("is damaged" in m and "rebuilding" in m for m in messages), again.describe()
    moved = [m for m in messages if "damaged database was moved to" in m]
    assert moved, again.describe()
    assert list(db.parent.glob("fimbeat.db.damaged-*")), "the damaged database is kept for forensics"
    ranges = lost_ranges(moved)

    def in_lost_range(path: Path) -> bool:
        return any(after < str(path) and (before == "(none)" or str(path) < before) for after, before in ranges)

    # Live changes across the whole key range, the damaged block's paths among them.
    changed = [tree / f"f{i:04}" for i in range(7, count, 7) if tree / f"f{i:04}" not in deleted][:400]
    for path in changed:
        path.write_text(f"changed {path.name}\n")
        time.sleep(0.002)
    reportable = [p for p in deleted if not in_lost_range(p)]
    wait_for(lambda: not final_states_lost(tree, read_events(workspace / "out", complete_only=True), reportable),
             timeout=60, message="every path's final state and every reportable deletion", agent=again)
    docs = read_events(workspace / "out")[first_run:]
    rebuilt = [d for d in docs if d.get("file_integrity", {}).get("baseline_rebuilt")]
    created = [d for d in docs if "created" in d["event"]["action"]]
    assert all(d.get("file_integrity", {}).get("baseline_rebuilt") for d in created), "no plain created flood"
    lost_deletions = [p for p in deleted if in_lost_range(p)]
    lost = final_states_lost(tree, read_events(workspace / "out"), reportable)
    print(f"{len(changed)} live changes, {len(deleted)} deletions while stopped: {len(lost_deletions)} deletions "
          f"in the {len(ranges)} lost range(s), {len(rebuilt)} events with baseline_rebuilt, "
          f"{len(lost)} final states lost")
    assert len(rebuilt) < count // 4, "only what the damage took is reported again"
    assert again.stop() == 0, again.describe()
    assert again.shutdown_metrics()["baseline"]["corruption"] == 1


def test_a_database_rocksdb_refuses_to_open_names_the_recovery(workspace, start_agent, fimbeat_bin):
    tree = workspace / "tree"
    tree.mkdir()
    config = write_config(workspace / "fimbeat.yml", module(tree) + file_output(workspace / "out"))
    agent = start_agent(config)
    wait_for(agent.scan_done, message="the start-up scan", agent=agent)
    assert agent.stop() == 0
    db = workspace / "home" / "data" / "fimbeat.db"
    manifest = (db / "CURRENT").read_text().strip()
    (db / manifest).write_bytes(b"\x00garbage" * 64)
    again = start_agent(config, name="again")
    assert again.wait_exit(30) == 1
    said = again.stderr_text()
    assert "Move fimbeat.db aside" in said and "another fimbeat" not in said, said


# --- 6. YAML aliases ---------------------------------------------------------------------------


def test_an_alias_bomb_is_refused_at_once_with_a_clear_message(fimbeat_bin, workspace):
    lines = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for level in "bcdefghij":
        previous = chr(ord(level) - 1)
        lines.append(f"{level}: &{level} [" + ",".join([f"*{previous}"] * 9) + "]")
    bomb = write_config(workspace / "bomb.yml", module(workspace) + file_output(workspace / "out") +
                        "\n".join(lines) + "\n")
    started = time.monotonic()
    result = run_cli(fimbeat_bin, "test", "config", "-c", bomb, timeout=30)
    elapsed = time.monotonic() - started
    assert result.returncode == 1, result
    assert "aliases" in result.stderr and "100000" in result.stderr.replace(",", ""), result.stderr
    assert elapsed < 10, f"refusing took {elapsed:.1f} s"


# --- 7. -c <directory> -------------------------------------------------------------------------


def test_a_directory_given_as_the_config_file_is_named_as_such(fimbeat_bin, workspace):
    result = run_cli(fimbeat_bin, "test", "config", "-c", workspace)
    assert result.returncode == 1
    assert f"{workspace} is a directory" in result.stderr, result.stderr


# --- 8, 9. signals and exit codes --------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGHUP, signal.SIGTERM, signal.SIGINT])
def test_sighup_sigterm_and_sigint_stop_cleanly_with_exit_0(workspace, start_agent, sig):
    tree = workspace / "tree"
    tree.mkdir()
    (tree / "a").write_text("a\n")
    config = write_config(workspace / "fimbeat.yml", module(tree) + file_output(workspace / "out"))
    agent = start_agent(config)
    wait_for(agent.scan_done, message="the start-up scan", agent=agent)
    wait_for(lambda: len(read_events(workspace / "out", complete_only=True)) == 2, agent=agent)
    assert agent.stop(sig) == 0, agent.describe()
    metrics = agent.shutdown_metrics()  # the clean stop's summary, once
    assert metrics["output"]["events"]["acked"] == 2


def test_sigterm_with_events_still_queued_exits_0_and_they_go_out_at_the_next_start(workspace, start_agent):
    tree = workspace / "tree"
    tree.mkdir()
    for i in range(3):
        (tree / f"f{i}").write_text(f"{i}\n")
    es = EsEndpoint()  # bound, not listening: every connection is refused
    try:
        down = write_config(workspace / "down.yml", module(tree) + "output.elasticsearch:\n"
                            f"  hosts: [{yaml_str(es.url)}]\n  backoff.init: 50ms\n  backoff.max: 100ms\n")
        agent = start_agent(down, name="down")
        wait_for(lambda: any("retrying" in m for m in agent.log_messages()), message="a failed write", agent=agent)
        assert agent.stop() == 0, agent.describe()  # queued events are durable: a clean stop
        assert agent.shutdown_metrics()["queue"]["events"] == 4
        es.start()
        again = start_agent(down, name="up")
        wait_for(lambda: es.count("logs-fim.event-default") == 4, message="the queued events delivered", agent=again)
        assert again.stop() == 0
    finally:
        es.stop()


# --- 10. delivery resumes within backoff.max ---------------------------------------------------


def test_after_an_outage_delivery_resumes_within_backoff_max(workspace, start_agent):
    tree = workspace / "tree"
    tree.mkdir()
    es = EsEndpoint().start()
    try:
        config = write_config(workspace / "fimbeat.yml", module(tree) + "output.elasticsearch:\n"
                              f"  hosts: [{yaml_str(es.url)}]\n  backoff.init: 1s\n  backoff.max: 5s\n")
        agent = start_agent(config)
        wait_for(lambda: es.count("logs-fim.event-default") == 1, message="the root's event", agent=agent)
        es.fail_requests(503, count=1 << 30)  # the outage: every bulk request refused
        (tree / "during").write_text("x\n")
        # Long enough for the backoff to reach backoff.max (1, 2, 4, then 5 s at most).
        wait_for(lambda: es.stat("request_faults") >= 5, timeout=40, message="retries up to backoff.max", agent=agent)
        with es.lock:
            es._request_faults.clear()  # Elasticsearch is back
        back = time.monotonic()
        wait_for(lambda: es.count("logs-fim.event-default") == 2, timeout=20, message="delivery after the outage",
                 agent=agent)
        resumed = time.monotonic() - back
        print(f"resumed {resumed:.2f} s after Elasticsearch came back (backoff.max: 5s)")
        assert resumed <= 5.0 + 1.0, f"delivery resumed {resumed:.2f} s after the outage ended"
        assert agent.stop() == 0
    finally:
        es.stop()


# --- 11. WAL damage after a crash --------------------------------------------------------------


def test_a_write_ahead_log_damaged_by_a_crash_is_reported_and_its_changes_come_again(workspace, start_agent):
    tree = workspace / "tree"
    tree.mkdir()
    for i in range(100):
        (tree / f"f{i:03}").write_text(f"{i}\n")
    config = write_config(workspace / "fimbeat.yml", module(tree) + file_output(workspace / "out"))
    agent = start_agent(config)
    wait_for(lambda: len(read_events(workspace / "out", complete_only=True)) == 101, agent=agent)
    for i in range(100):
        (tree / f"f{i:03}").write_text(f"changed {i}\n")
    wait_for(lambda: len(read_events(workspace / "out", complete_only=True)) >= 201, agent=agent)
    agent.kill()  # a crash: what the database holds is only in its write-ahead log
    logs = sorted((workspace / "home" / "data" / "fimbeat.db").glob("*.log"), key=lambda p: p.stat().st_size)
    assert logs and logs[-1].stat().st_size > 4096, [(p.name, p.stat().st_size) for p in logs]
    wal = bytearray(logs[-1].read_bytes())
    middle = len(wal) // 2
    wal[middle:middle + 64] = bytes(b ^ 0xFF for b in wal[middle:middle + 64])
    logs[-1].write_bytes(bytes(wal))
    before = len(read_events(workspace / "out"))

    again = start_agent(config, name="again")
    wait_for(again.scan_done, message="the start-up scan", agent=again)
    dropped = [m for m in again.log_messages() if "RocksDB dropped" in m]
    assert dropped, again.describe()
    assert "reported again" in dropped[0]
    # What the lost records said is reported again: every path's last document is its final state.
    wait_for(lambda: not final_states_lost(tree, read_events(workspace / "out", complete_only=True), []),
             message="every final state reported", agent=again)
    assert len(read_events(workspace / "out")) > before, "the changes the damaged log held are reported again"
    assert again.stop() == 0, again.describe()
