"""diff.* on the real binary: an updated small text file's event carries file_integrity.diff,
redacted; binary, excluded and larger files get none; and a crash (SIGKILL) around the write that
keeps a file's content and queues its event loses neither: every diff starts from the content
the previous event ended with.
"""

from __future__ import annotations

import random
import signal
import time
from pathlib import Path

from conftest import parse_ndjson, wait_for, write_config, yaml_str


def config(workspace: Path, watched: Path, out: Path, extra: str = "") -> Path:
    return write_config(workspace / "fimbeat.yml", f"""\
fimbeat.modules:
  - module: file_integrity
    paths: [{yaml_str(watched)}]
    recursive: true
    backend: inotify
    realtime.quiet_period: 50ms
    diff:
      enabled: true
      max_diff_size: 1KiB
{extra}output.file:
  path: {yaml_str(out)}
  filename: fimbeat
  number_of_files: 1024
""")


def in_order(out: Path) -> list[dict]:
    """Every document, in the order written: the files by their number (one more each start)."""
    def number(p: Path) -> int:  # fimbeat-<date>.ndjson, then fimbeat-<date>-1.ndjson, ...
        parts = p.stem.split("-")
        return int(parts[2]) if len(parts) > 2 else 0
    docs: list[dict] = []
    for f in sorted(out.glob("fimbeat*.ndjson"), key=number):
        docs += parse_ndjson(f.read_bytes(), str(f), complete_only=True)
    return docs


def updated(out: Path, path: Path) -> list[dict]:
    return [d for d in in_order(out) if d["file"]["path"] == str(path) and "updated" in d["event"]["action"]]


def test_updated_text_files_carry_a_redacted_diff_others_none(workspace, start_agent):
    watched = workspace / "etc"
    watched.mkdir()
    app = watched / "app.conf"
    app.write_text("listen = 80\npassword = hunter2\nname = web\n")
    binary = watched / "blob.bin"
    binary.write_bytes(b"\x00\x01binary\n")
    secret = watched / ".env"
    secret.write_text("TOKEN=abc\n")
    big = watched / "big.txt"
    big.write_text("x\n" * 40000)  # 80 KB: over diff.max_file_size (64 KiB)
    out = workspace / "out"
    agent = start_agent(config(workspace, watched, out))
    wait_for(agent.scan_done, message="the first scan", agent=agent)

    app.write_text("listen = 8080\npassword = correct horse\nname = web\n")
    binary.write_bytes(b"\x00\x02binary\n")
    secret.write_text("TOKEN=def\n")
    big.write_text("y\n" * 40000)
    for path in (app, binary, secret, big):
        wait_for(lambda p=path: updated(out, p), message=f"the update of {path.name}", agent=agent)
    [doc] = updated(out, app)
    assert doc["file_integrity"]["diff"] == (
        f"--- {app}\n+++ {app}\n@@ -1,3 +1,3 @@\n-listen = 80\n+listen = 8080\n [REDACTED]\n name = web\n")
    for path in (binary, secret, big):
        assert "diff" not in updated(out, path)[0].get("file_integrity", {}), path

    # Long diffs are cut at max_diff_size with the marker.
    app.write_text("".join(f"line {i}\n" for i in range(300)))
    wait_for(lambda: len(updated(out, app)) == 2, message="the long update", agent=agent)
    long = updated(out, app)[1]["file_integrity"]["diff"]
    assert len(long) <= 1024 and "[diff truncated: " in long.splitlines()[-1]
    agent.stop()
    everything = b"".join(p.read_bytes() for p in out.iterdir() if p.is_file()) + agent.stderr_text().encode()
    assert b"hunter2" not in everything and b"correct horse" not in everything


def chain_of(out: Path, path: Path) -> list[tuple[str, str]]:
    """(before, after) of each distinct update's diff of a one-line file, in order."""
    steps: list[tuple[str, str]] = []
    for doc in updated(out, path):
        diff = doc.get("file_integrity", {}).get("diff")
        assert diff, f"an update without a diff: {doc}"
        removed = [line[1:] for line in diff.splitlines() if line.startswith("-") and not line.startswith("---")]
        added = [line[1:] for line in diff.splitlines() if line.startswith("+") and not line.startswith("+++")]
        step = (removed[0] if removed else "", added[0] if added else "")  # "": seen empty mid-write
        if step not in steps:  # delivered again after a kill (at least once); versions only grow
            steps.append(step)
    return steps


def test_a_crash_around_the_write_loses_neither_the_content_nor_the_event(workspace, start_agent):
    """The kept content and the queued event are one RocksDB write. Were they two, a kill between
    them would keep version N without its event, and the next diff would start from a version no
    event ever showed: the chain below would break."""
    watched = workspace / "etc"
    watched.mkdir()
    path = watched / "counter.conf"
    path.write_text("version 0\n")
    out = workspace / "out"
    cfg = config(workspace, watched, out)
    home = workspace / "home"
    agent = start_agent(cfg, home=home)
    wait_for(agent.scan_done, message="the first scan", agent=agent)
    rng = random.Random(21)
    version = 0
    for _ in range(12):
        for _ in range(rng.randint(1, 4)):
            version += 1
            path.write_text(f"version {version}\n")
        # Killed at a random moment: before, during or after the write of the last change.
        time.sleep(rng.uniform(0, 0.3))  # not a wait for something: where the kill falls
        agent.proc.send_signal(signal.SIGKILL)
        agent.wait_exit(30)
        agent = start_agent(cfg, home=home)
        wait_for(agent.scan_done, message="the scan after the restart", agent=agent)
    wait_for(lambda: chain_of(out, path) and chain_of(out, path)[-1][1] == f"version {version}",
             message="the last version reported", agent=agent)
    steps = chain_of(out, path)
    assert steps[0][0] == "version 0"
    for earlier, later in zip(steps, steps[1:]):
        assert later[0] == earlier[1], f"a diff starts from a version no event showed: {steps}"
    agent.stop()
