"""The durable queue (issue "Elasticsearch output"): a change's event is stored in the same RocksDB
write as its baseline record, delivered after a crash, and the watcher pauses when the queue is full.

These tests use the file and console outputs; exactly-once delivery through Elasticsearch's `_id`
is tested in test_elasticsearch.py.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import threading
import time
from pathlib import Path

from conftest import paths_of, poll, read_events, total_metrics, write_config, yaml_str


def make_tree(root: Path, files: int, per_dir: int = 100) -> set[str]:
    paths = {str(root)}
    for i in range(files):
        d = root / f"d{i // per_dir:03d}"
        if not d.exists():
            d.mkdir()
            paths.add(str(d))
        f = d / f"f{i:05d}.txt"
        f.write_bytes(f"file {i}\n".encode() * (1 + i % 7))
        paths.add(str(f))
    return paths


def config_for(workspace: Path, tree: Path, output: str, extra: str = "") -> Path:
    return write_config(workspace / "fimbeat.yml", f"""
fimbeat.modules:
- module: file_integrity
  paths: [{yaml_str(str(tree))}]
  recursive: true
  hash_types: [sha256]
  mime_type: false
{output}
{extra}
""")


def test_kill_9_at_random_points_loses_no_event(workspace: Path, start_agent) -> None:
    tree = workspace / "tree"
    tree.mkdir()
    expected = make_tree(tree, 3000)
    events = workspace / "events"
    config = config_for(workspace, tree, f"output.file.path: {yaml_str(str(events))}")
    rng = random.Random(7)
    for _ in range(5):
        agent = start_agent(config)
        poll(lambda: agent.scan_done() or not agent.running(), timeout=rng.uniform(0.05, 0.6), interval=0.01)
        agent.proc.send_signal(signal.SIGKILL)
        agent.wait_exit(10)
    final = start_agent(config)
    assert poll(final.scan_done, timeout=60), final.describe()
    # Everything queued by the killed runs and by this one is delivered before a clean stop.
    assert poll(lambda: expected <= set(paths_of(read_events(events, complete_only=True))), timeout=30), \
        f"missing after kill -9: {sorted(expected - set(paths_of(read_events(events, complete_only=True))))[:10]}"
    assert final.stop() == 0, final.describe()
    metrics = final.shutdown_metrics()
    assert metrics["queue"]["events"] == 0, metrics
    assert metrics["queue"]["bytes"] == 0, metrics


def test_a_restart_delivers_what_a_kill_left_queued(workspace: Path, start_agent) -> None:
    """Events stored before a kill -9 whose output never saw them are delivered by the next run."""
    tree = workspace / "tree"
    tree.mkdir()
    expected = make_tree(tree, 2000)
    # The first run writes to a console nobody reads: once the pipe's buffer is full the output
    # blocks, and the queue holds the rest of the events.
    config = config_for(workspace, tree, "output.console: {}")
    proc = subprocess.Popen([str(os.environ.get("FIMBEAT_BIN", "build/fimbeat")), "run", "-e", "-c", str(config),
                             "--path.home", str(workspace / "home")],
                            stdout=subprocess.PIPE, stderr=open(workspace / "first.stderr", "wb"),
                            cwd=workspace)
    try:
        assert poll(lambda: b"scan done" in (workspace / "first.stderr").read_bytes(), timeout=60)
    finally:
        proc.kill()
        proc.wait(10)
        # What the first run's console took before the pipe filled up: written whole batches were
        # acknowledged, so they are not queued for the next run.
        console = proc.stdout.read()
        proc.stdout.close()
    # The kill can cut the last document anywhere, even just after a "}": only lines that the
    # console finished with a newline are whole.
    whole = console[:console.rfind(b"\n") + 1]
    first = {json.loads(line)["file"]["path"] for line in whole.splitlines()}
    assert len(first) < len(expected), "the pipe cannot have taken every event"
    events = workspace / "events"
    config = config_for(workspace, tree, f"output.file.path: {yaml_str(str(events))}")
    second = start_agent(config)
    assert poll(lambda: expected <= first | set(paths_of(read_events(events, complete_only=True))), timeout=30), \
        second.describe()
    assert any("still queued" in m for m in second.log_messages()), second.describe()
    assert second.stop() == 0
    docs = read_events(events)
    assert {d["event"]["action"][0] for d in docs} == {"initial_scan"}, "replayed events keep their actions"


def test_a_full_queue_pauses_the_watcher_and_loses_nothing(workspace: Path, fimbeat_bin: Path) -> None:
    tree = workspace / "tree"
    tree.mkdir()
    expected = make_tree(tree, 12000)
    config = config_for(workspace, tree, "output.console: {}", "queue.max_size: 1MiB")
    stderr_path = workspace / "agent.stderr"
    proc = subprocess.Popen([str(fimbeat_bin), "run", "-e", "-c", str(config), "--path.home", str(workspace / "home")],
                            stdout=subprocess.PIPE, stderr=open(stderr_path, "wb"), cwd=workspace)
    try:
        # Nobody reads stdout yet: the console output blocks, the queue fills up to 1 MiB.
        assert poll(lambda: b"pausing until the output catches up" in stderr_path.read_bytes(), timeout=60), \
            stderr_path.read_text()
        assert b"scan done" not in stderr_path.read_bytes(), "the scan must pause while the queue is full"
        lines: list[bytes] = []
        reader = threading.Thread(target=lambda: lines.extend(proc.stdout), daemon=True)
        reader.start()
        assert poll(lambda: expected <= {json.loads(l)["file"]["path"] for l in list(lines)}, timeout=60), \
            stderr_path.read_text()[-2000:]
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(10) == 0
        reader.join(10)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
    log = stderr_path.read_text()
    assert "resuming" in log
    metrics = total_metrics(json.loads(l) for l in log.splitlines())
    assert metrics["queue"]["backpressure"] >= 1
    assert metrics["watcher"]["realtime"]["rescans"] >= 1, "a rescan runs when the queue has room again"
    assert len({json.loads(l)["file"]["path"] for l in lines}) == len(expected)
