"""`fimbeat run`: the initial scan, the documents it writes, its outputs and its shutdown."""

from __future__ import annotations

import fcntl
import json
import os
import shlex
import shutil
import signal
import socket
import stat
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import (
    EVENT_FILE_RE,
    REPO,
    TIMESTAMP_RE,
    event_files,
    parse_ndjson,
    paths_of,
    read_events,
    summary,
    total_metrics,
    wait_for,
    write_config,
    yaml_str,
)

F_SETPIPE_SZ = getattr(fcntl, "F_SETPIPE_SZ", 1031)

EXCLUDES = r"""['(?i)\.sw[nop]$', '~$', '/\.git($|/)']"""


def write_file(path: Path, size: int) -> None:
    path.write_bytes(b"x" * size)


class Tree:
    """A directory tree on disk and the (path, type, size) set a scan of it must report."""

    def __init__(self, root: Path):
        self.root = root
        self.entries: dict[str, tuple[str, int | None, int]] = {}  # path -> (type, size, depth)
        self.sockets: list[socket.socket] = []

    def add(self, rel: str, kind: str, size: int | None = None) -> Path:
        path = self.root / rel if rel else self.root
        depth = 0 if not rel else rel.count("/") + 1
        self.entries[str(path)] = (kind, size, depth)
        return path

    def expected(self, max_depth: int | None = None) -> set[tuple[str, str, int | None]]:
        return {(p, kind, size) for p, (kind, size, depth) in self.entries.items()
                if max_depth is None or depth <= max_depth}

    def close(self) -> None:
        for s in self.sockets:
            s.close()


def build_tree(root: Path, outside: Path) -> Tree:
    """Files of known sizes, nested dirs, symlinks, excluded .git and swap files, a FIFO, a socket."""
    tree = Tree(root)
    root.mkdir()
    tree.add("", "dir")
    write_file(tree.add("empty.txt", "file", 0), 0)
    write_file(tree.add("a.txt", "file", 3), 3)
    write_file(tree.add("file.swpx", "file", 2), 2)        # not a swap file: the pattern ends in $
    tree.add("sub", "dir").mkdir()
    write_file(tree.add("sub/b.bin", "file", 1000), 1000)
    write_file(tree.add("sub/.gitignore", "file", 7), 7)   # /\.git($|/) must not catch .gitignore
    tree.add("sub/deeper", "dir").mkdir()
    write_file(tree.add("sub/deeper/c.log", "file", 4096), 4096)
    tree.add("sub/deeper/deepest", "dir").mkdir()
    write_file(tree.add("sub/deeper/deepest/d", "file", 1), 1)

    # Symlinks are reported as symlinks and never followed, whether they point in or out of the tree.
    outside.mkdir()
    write_file(outside / "outside-secret.txt", 11)
    (outside / "outside-dir").mkdir()
    os.symlink(outside, tree.add("outside-link", "symlink"))
    os.symlink("sub", tree.add("sub-link", "symlink"))
    os.symlink("a.txt", tree.add("a-link", "symlink"))
    os.symlink("does-not-exist", tree.add("dangling", "symlink"))

    # Excluded: neither reported nor entered.
    (root / ".git" / "objects" / "ab").mkdir(parents=True)
    write_file(root / ".git" / "HEAD", 21)
    write_file(root / ".git" / "objects" / "ab" / "cdef", 5)
    (root / "sub" / ".git").mkdir()
    write_file(root / "sub" / ".git" / "config", 9)
    write_file(root / ".notes.txt.swp", 12)
    write_file(root / "sub" / "X.SWO", 12)                  # (?i): upper case is excluded too
    write_file(root / "a.txt~", 3)

    # Special files: reported by type, and lstat never blocks on them.
    os.mkfifo(tree.add("pipe", "fifo"))
    sock_path = tree.add("sub/sock", "socket")
    assert len(os.fsencode(sock_path)) < 100, f"socket path too long for AF_UNIX: {sock_path}"
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.bind(str(sock_path))
    s.listen(1)
    tree.sockets.append(s)
    return tree


@pytest.fixture
def tree(workspace: Path):
    t = build_tree(workspace / "tree", workspace / "outside")
    yield t
    t.close()


def module_config(paths: list[Path], out: Path, recursive: bool = True, extra_module: str = "",
                  extra: str = "") -> str:
    return f"""\
fimbeat.modules:
  - module: file_integrity
    paths: [{", ".join(yaml_str(p) for p in paths)}]
    recursive: {str(recursive).lower()}
    exclude_files: {EXCLUDES}
{extra_module}
output.file:
  path: {yaml_str(out)}
{extra}
"""


def wait_for_count(out: Path, count: int, agent, filename: str = "fimbeat", timeout: float = 10.0) -> list[dict]:
    return wait_for(lambda: (docs := read_events(out, filename, complete_only=True)) and len(docs) >= count and docs,
                    timeout=timeout, message=f"{count} documents in {out}", agent=agent)


def parse_timestamp(value: str) -> datetime:
    assert TIMESTAMP_RE.match(value), f"@timestamp {value!r} is not ISO-8601 UTC with milliseconds"
    return datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=timezone.utc)


def assert_scan_document(doc: dict, tags: list[str], started: float, ended: float) -> None:
    assert doc["event"] == {
        "kind": "event",
        "category": ["file"],
        "type": ["info"],
        "action": ["initial_scan"],
        "module": "file_integrity",
        "dataset": "fim.event",
        "created": doc["@timestamp"],  # found by the scan: read when the baseline recorded it
    }, doc
    assert doc["host"]["name"] == socket.gethostname(), doc
    assert doc["ecs"]["version"] and doc["service"] == {"type": "file_integrity"}, doc
    assert doc["data_stream"] == {"type": "logs", "dataset": "fim.event", "namespace": "default"}, doc
    if tags:
        assert doc["tags"] == tags, doc
    else:
        assert "tags" not in doc, doc
    assert "error" not in doc, doc
    assert set(doc) <= {"@timestamp", "agent", "cloud", "data_stream", "ecs", "event", "file", "host", "service",
                        "tags"}, doc
    ts = parse_timestamp(doc["@timestamp"])
    low = datetime.fromtimestamp(started, timezone.utc) - timedelta(seconds=1)
    high = datetime.fromtimestamp(ended, timezone.utc) + timedelta(seconds=1)
    assert low <= ts <= high, f"@timestamp {doc['@timestamp']} is not the time of the scan"
    size = doc["file"].get("size")
    if doc["file"]["type"] == "file":
        assert isinstance(size, int) and size >= 0, doc
    else:
        assert size is None, f"only regular files have file.size: {doc}"


def log_records_from(agent) -> list[dict]:
    records = agent.log_records()
    for r in records:
        assert {"@timestamp", "log.level", "log.logger", "message"} <= set(r), r
        assert TIMESTAMP_RE.match(r["@timestamp"]), r
    return records


def shutdown_metrics(agent) -> dict:
    return total_metrics(log_records_from(agent))


# --- the initial scan -------------------------------------------------------------------------


def test_recursive_scan_reports_exactly_the_tree(workspace, tree, start_agent):
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", module_config(
        [tree.root], out, extra_module="    tags: [fim-test, global-tag]", extra="tags: [global-tag]"))
    expected = tree.expected()
    agent = start_agent(config)

    wait_for_count(out, len(expected), agent)
    assert agent.running(), "the agent must keep running after the initial scan"
    assert agent.stop() == 0, agent.describe()
    ended = time.time()

    docs = read_events(out)
    paths = paths_of(docs)
    assert len(paths) == len(set(paths)), f"duplicate documents: {sorted(p for p in paths if paths.count(p) > 1)}"
    assert summary(docs) == expected
    for doc in docs:
        assert_scan_document(doc, ["global-tag", "fim-test"], agent.started_at, ended)
    for forbidden in ("/.git/", ".notes.txt.swp", "X.SWO", "a.txt~", "outside-secret", "outside-dir", "sub-link/"):
        assert not [p for p in paths if forbidden in p], f"{forbidden} must not be reported"
    assert not [p for p in paths if p.endswith("/.git")], ".git directories are excluded"
    [file] = event_files(out)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600, "output.file.permissions defaults to 0600"


def test_non_recursive_scan_reports_root_and_direct_children(workspace, tree, start_agent):
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", module_config([tree.root], out, recursive=False))
    expected = tree.expected(max_depth=1)
    agent = start_agent(config)

    wait_for_count(out, len(expected), agent)
    assert agent.stop() == 0, agent.describe()

    docs = read_events(out)
    assert sorted(paths_of(docs)) == sorted(p for p, _, _ in expected)
    assert summary(docs) == expected
    assert all("tags" not in d for d in docs), "no tags are configured"


def test_include_files_reports_only_matching_files_but_walks_directories(workspace, start_agent):
    root = workspace / "conf"
    (root / "etc" / "deep").mkdir(parents=True)
    (root / ".git").mkdir()
    (root / "app.conf").write_text("a=1\n")
    (root / "readme.md").write_text("# readme\n")
    (root / "etc" / "nginx.conf").write_text("events {}\n")
    (root / "etc" / "notes.txt").write_text("notes\n")
    (root / "etc" / "deep" / "x.conf").write_text("x\n")
    (root / "etc" / "deep" / "x.conf.bak").write_text("x\n")
    (root / ".git" / "hooks.conf").write_text("excluded wins over included\n")
    os.symlink("app.conf", root / "link.conf")
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", module_config(
        [root], out, extra_module=r"    include_files: ['\.conf$']"))
    expected = {
        (str(root), "dir", None),
        (str(root / "etc"), "dir", None),
        (str(root / "etc" / "deep"), "dir", None),
        (str(root / "app.conf"), "file", 4),
        (str(root / "etc" / "nginx.conf"), "file", 10),
        (str(root / "etc" / "deep" / "x.conf"), "file", 2),
        (str(root / "link.conf"), "symlink", None),
    }
    agent = start_agent(config)

    wait_for_count(out, len(expected), agent)
    assert agent.stop() == 0, agent.describe()
    docs = read_events(out)
    assert len(docs) == len(expected), paths_of(docs)
    assert summary(docs) == expected


def test_invalid_utf8_names_are_replaced_and_lines_stay_valid_json(workspace, start_agent):
    root = workspace / "names"
    root.mkdir()
    broot = os.fsencode(root)
    with open(os.path.join(broot, b"bad\xffname"), "wb") as f:
        f.write(b"12345")
    os.mkdir(os.path.join(broot, b"dir\xfe\xfd"))
    with open(os.path.join(broot, b"dir\xfe\xfd", b"inner.txt"), "wb") as f:
        f.write(b"1")
    (root / "caf\u00e9-\u65e5\u672c.txt").write_bytes(b"ok")  # valid UTF-8 passes through unchanged
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", module_config([root], out))
    expected = {
        (str(root), "dir", None),
        (f"{root}/bad\ufffdname", "file", 5),
        (f"{root}/dir\ufffd\ufffd", "dir", None),
        (f"{root}/dir\ufffd\ufffd/inner.txt", "file", 1),
        (f"{root}/caf\u00e9-\u65e5\u672c.txt", "file", 2),
    }
    agent = start_agent(config)

    wait_for_count(out, len(expected), agent)
    assert agent.stop() == 0, agent.describe()
    [file] = event_files(out)
    raw = file.read_bytes()
    raw.decode("utf-8")  # strict: the whole file is valid UTF-8
    docs = parse_ndjson(raw, str(file))
    assert summary(docs) == expected


# --- console output ----------------------------------------------------------------------------


def small_tree(root: Path) -> set[tuple[str, str, int | None]]:
    (root / "d").mkdir(parents=True)
    (root / "one").write_bytes(b"1")
    (root / "d" / "two").write_bytes(b"22")
    return {(str(root), "dir", None), (str(root / "d"), "dir", None),
            (str(root / "one"), "file", 1), (str(root / "d" / "two"), "file", 2)}


def parse_json_stream(text: str) -> list[dict]:
    """Parses concatenated (possibly pretty-printed) JSON objects."""
    decoder = json.JSONDecoder()
    docs, pos = [], 0
    while True:
        while pos < len(text) and text[pos].isspace():
            pos += 1
        if pos == len(text):
            return docs
        doc, pos = decoder.raw_decode(text, pos)
        docs.append(doc)


def test_minus_E_switches_file_output_to_console(workspace, start_agent):
    expected = small_tree(workspace / "small")
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", module_config([workspace / "small"], out))
    agent = start_agent(config, args=["-E", "output.file.enabled=false", "-E", "output.console.enabled=true"])

    wait_for(lambda: agent.stdout_bytes().count(b"\n") >= len(expected), message="documents on stdout",
             agent=agent)
    assert agent.stop() == 0, agent.describe()
    docs = parse_ndjson(agent.stdout_bytes(), "stdout")
    assert agent.stdout_bytes().count(b"\n") == len(docs), "one document per line"
    assert summary(docs) == expected
    assert not out.exists(), "the disabled file output must not create its directory"
    assert all(r["log.level"] != "error" for r in log_records_from(agent))


def test_console_pretty_prints_indented_json(workspace, start_agent):
    expected = small_tree(workspace / "small")
    config = write_config(workspace / "fimbeat.yml", f"""\
fimbeat.modules:
  - module: file_integrity
    paths: [{yaml_str(workspace / "small")}]
    recursive: true
output.console:
  pretty: true
""")
    agent = start_agent(config)

    def complete_docs():
        text = agent.stdout_bytes().decode("utf-8")
        end = text.rfind("\n}\n")  # each pretty document ends with a closing brace on its own line
        return parse_json_stream(text[: end + 3]) if end >= 0 else []

    wait_for(lambda: len(complete_docs()) >= len(expected), message="pretty documents on stdout", agent=agent)
    assert agent.stop() == 0, agent.describe()
    text = agent.stdout_bytes().decode("utf-8")
    docs = parse_json_stream(text)
    assert summary(docs) == expected
    lines = text.splitlines()
    assert len(lines) > 10 * len(docs), "pretty output spreads each document over many lines"
    assert sum(line.startswith('    "@timestamp": ') for line in lines) == len(docs), "fields are indented"
    assert all(not line.startswith("{\"") for line in lines), "no compact single-line documents"


# --- shutdown ----------------------------------------------------------------------------------


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_stop_signal_drains_and_exits_zero(workspace, start_agent, sig):
    expected = small_tree(workspace / "small")
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", module_config([workspace / "small"], out))
    agent = start_agent(config)
    wait_for_count(out, len(expected), agent)

    started = time.monotonic()
    code = agent.stop(sig, timeout=5.0)
    assert code == 0, agent.describe()
    assert time.monotonic() - started < 5.0

    [file] = event_files(out)
    raw = file.read_bytes()
    assert raw.endswith(b"\n"), "the last line is complete"
    assert summary(parse_ndjson(raw, str(file))) == expected
    metrics = shutdown_metrics(agent)
    assert metrics["output"]["events"]["acked"] == len(expected), metrics
    assert metrics["output"]["events"]["failed"] == 0, metrics


def test_sigterm_during_a_large_scan_exits_zero_with_complete_lines(workspace, start_agent):
    root = workspace / "big"
    for d in range(20):
        (root / f"d{d:02}").mkdir(parents=True)
        for f in range(50):
            (root / f"d{d:02}" / f"f{f:03}").write_bytes(b"x")
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", module_config([root], out))
    agent = start_agent(config)
    wait_for(lambda: event_files(out), message="the output file", agent=agent)

    started = time.monotonic()
    assert agent.stop(signal.SIGTERM, timeout=5.0) == 0, agent.describe()
    assert time.monotonic() - started < 5.0
    docs = []
    for file in event_files(out):
        raw = file.read_bytes()
        assert raw == b"" or raw.endswith(b"\n"), f"{file} ends in a torn line"
        docs.extend(parse_ndjson(raw, str(file)))
    paths = paths_of(docs)
    assert len(paths) == len(set(paths)), "no document is written twice"
    metrics = shutdown_metrics(agent)
    assert metrics["output"]["events"]["acked"] == len(docs), "every document handed to the output was written"
    assert metrics["output"]["events"]["failed"] == 0, metrics


def test_sigterm_exits_within_5s_even_when_stdout_is_blocked(fimbeat_bin, workspace):
    root = workspace / "many"
    many_files(root, 300)
    config = write_config(workspace / "fimbeat.yml", f"""\
fimbeat.modules:
  - module: file_integrity
    paths: [{yaml_str(root)}]
output.console: {{}}
""")
    read_end, write_end = os.pipe()
    fcntl.fcntl(write_end, F_SETPIPE_SZ, 4096)  # one page: fills after a few documents
    stderr = open(workspace / "agent.stderr", "wb")
    proc = subprocess.Popen([str(fimbeat_bin), "run", "-e", "-c", str(config), "--path.home", str(workspace / "home")],
                            stdin=subprocess.DEVNULL, stdout=write_end, stderr=stderr)
    os.close(write_end)
    try:
        def writer_blocked() -> bool:
            """A thread of the agent sleeps in the kernel's pipe write: the reader is not keeping up."""
            for wchan in Path(f"/proc/{proc.pid}/task").glob("*/wchan"):
                try:
                    if wchan.read_text().endswith("pipe_write"):
                        return True
                except OSError:
                    pass
            return False
        wait_for(writer_blocked, message="the agent blocked writing to stdout")
        proc.send_signal(signal.SIGTERM)
        try:
            code = proc.wait(timeout=5.0)
        except subprocess.TimeoutExpired:
            raise AssertionError("fimbeat did not exit within 5 s of SIGTERM while stdout was blocked") from None
        assert code == 1, "events were left unwritten, so the exit code reports a failure"
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=10)
        os.close(read_end)
        stderr.close()


def test_configured_paths_are_made_absolute_and_normalised(workspace, start_agent):
    (workspace / "rel" / "sub").mkdir(parents=True)
    (workspace / "rel" / "sub" / "x").write_bytes(b"x")
    sparse = workspace / "sparse.img"
    with open(sparse, "wb") as f:
        f.truncate(5 * 1024**3)  # sizes above 4 GiB are not truncated
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", f"""\
fimbeat.modules:
  - module: file_integrity
    paths: ["rel/", {yaml_str(f"{workspace}/rel/./sub/../sub/")}]
    recursive: false
  - module: file_integrity
    paths: ["/", {yaml_str(sparse)}]
output.file:
  path: {yaml_str(out)}
""")
    root_children = {f"/{name}" for name in os.listdir("/")}
    expected_paths = {str(workspace / "rel"), str(workspace / "rel" / "sub"), str(workspace / "rel" / "sub" / "x"),
                      "/", str(sparse)} | root_children
    agent = start_agent(config)   # runs in the workspace, so "rel/" is relative to it

    wait_for_count(out, len(expected_paths), agent)  # rel/sub is reported once though two paths name it
    assert agent.stop() == 0, agent.describe()
    docs = read_events(out)
    assert set(paths_of(docs)) == expected_paths
    assert not [p for p in paths_of(docs) if "//" in p or "/./" in p or "/../" in p or p.endswith("/") and p != "/"]
    [big] = [d for d in docs if d["file"]["path"] == str(sparse)]
    assert (big["file"]["path"], big["file"]["type"], big["file"]["size"]) == (str(sparse), "file", 5 * 1024**3)
    assert "hash" not in big["file"], "a file over max_file_size is not hashed"


def test_logs_go_to_path_logs_without_minus_e(workspace, start_agent):
    expected = small_tree(workspace / "small")
    out = workspace / "events"
    logs = workspace / "my-logs"
    config = write_config(workspace / "fimbeat.yml", module_config([workspace / "small"], out))
    agent = start_agent(config, log_to_stderr=False, args=["--path.logs", str(logs)])
    log_file = logs / "fimbeat.ndjson"

    wait_for(lambda: log_file.exists(), message=f"{log_file}", agent=agent)
    wait_for_count(out, len(expected), agent)
    assert agent.stop() == 0, agent.describe()

    records = parse_ndjson(log_file.read_bytes(), str(log_file))
    assert records, "the log file has lines"
    for r in records:
        assert {"@timestamp", "log.level", "log.logger", "message"} <= set(r), r
    assert stat.S_IMODE(log_file.stat().st_mode) == 0o600, "logging.files.permissions defaults to 0600"
    assert agent.stderr_text() == "", "nothing is logged to stderr without -e"
    assert not (workspace / "home" / "logs").exists(), "--path.logs replaces <path.home>/logs"


# --- file output: rotation and permissions ------------------------------------------------------


def many_files(root: Path, count: int) -> set[tuple[str, str, int | None]]:
    root.mkdir()
    expected = {(str(root), "dir", None)}
    for i in range(count):
        path = root / f"file-{i:03}.dat"
        path.write_bytes(b"z" * i)
        expected.add((str(path), "file", i))
    return expected


def utc_dates(started: float) -> set[str]:
    return {datetime.fromtimestamp(t, timezone.utc).strftime("%Y%m%d") for t in (started, time.time())}


def test_rotation_splits_events_over_numbered_files(workspace, start_agent):
    root = workspace / "many"
    expected = many_files(root, 200)
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", module_config(
        [root], out, extra="  rotate_every_kb: 1\n  number_of_files: 1024\n"))
    agent = start_agent(config)

    wait_for_count(out, len(expected), agent)
    assert agent.stop() == 0, agent.describe()

    files = event_files(out)
    assert len(files) >= 3, f"rotate_every_kb: 1 rotates often: {[f.name for f in files]}"
    matches = [EVENT_FILE_RE.match(f.name) for f in files]
    assert {m.group("date") for m in matches} <= utc_dates(agent.started_at)
    assert [int(m.group("index") or 0) for m in matches] == list(range(len(files))), \
        f"files are <name>-<date>.ndjson, then -1, -2, ...: {[f.name for f in files]}"
    docs = []
    for f in files:
        raw = f.read_bytes()
        # A document longer than the limit goes alone into a fresh file.
        assert 0 < len(raw) <= 1024 or raw.count(b"\n") == 1, f"{f.name} holds {len(raw)} bytes"
        assert raw.endswith(b"\n"), f"{f.name} ends in a torn line"
        docs.extend(parse_ndjson(raw, str(f)))
    paths = paths_of(docs)
    assert len(paths) == len(set(paths)), "every event is written exactly once"
    assert summary(docs) == expected


def scan_finished(agent) -> bool:
    """The scanner's summary line: every path has been observed (documents may still be in flight)."""
    if not agent.stderr_path.exists():
        return False
    for line in agent.stderr_path.read_text(errors="replace").splitlines():
        try:
            if json.loads(line).get("message", "").startswith("scan done"):
                return True
        except json.JSONDecodeError:
            pass
    return False


def test_rotation_keeps_at_most_number_of_files(workspace, start_agent):
    root = workspace / "many"
    many_files(root, 200)
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", module_config(
        [root], out, extra="  rotate_every_kb: 1\n  number_of_files: 2\n"))
    agent = start_agent(config)

    wait_for(lambda: scan_finished(agent), message="the end of the scan", agent=agent)
    assert agent.stop() == 0, agent.describe()  # SIGTERM drains the pipeline: every document is written

    files = event_files(out)
    assert len(files) == 2, f"number_of_files: 2 keeps 2 files: {[f.name for f in files]}"
    indexes = [int(EVENT_FILE_RE.match(f.name).group("index") or 0) for f in files]
    assert indexes[1] == indexes[0] + 1 and indexes[0] >= 1, f"the newest files are kept: {indexes}"
    docs = read_events(out)
    paths = paths_of(docs)
    assert len(paths) == len(set(paths))
    assert all(p.startswith(str(root)) for p in paths)
    assert len(docs) < 201, "older files were removed"
    metrics = shutdown_metrics(agent)
    assert metrics["output"]["events"]["acked"] == 201, "all 200 files and the root were written before pruning"


def test_output_file_permissions_are_applied(workspace, start_agent):
    expected = small_tree(workspace / "small")
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", module_config(
        [workspace / "small"], out, extra="  permissions: 0640\n"))
    old_umask = os.umask(0o077)  # the configured mode wins over a strict umask
    try:
        agent = start_agent(config)
    finally:
        os.umask(old_umask)
    wait_for_count(out, len(expected), agent)
    assert agent.stop() == 0, agent.describe()
    [file] = event_files(out)
    assert stat.S_IMODE(file.stat().st_mode) == 0o640


# --- the shipped default (`make run`) -----------------------------------------------------------


def make_run_command(fimbeat_bin: Path, home: Path) -> list[str]:
    """The commands `make run` runs, from the Makefile itself (`make -n` prints them, runs none):
    the demo tree script and the fimbeat command line, for this build and `home`."""
    printed = subprocess.run(["make", "-n", "-s", "-C", str(REPO), "run", f"BUILD_DIR={fimbeat_bin.parent}",
                              f"HOME_DIR={home}"], capture_output=True, text=True, timeout=60, check=True).stdout
    return [shlex.split(line) for line in printed.splitlines()
            if "make-demo-tree.sh" in line or line.startswith(f"{fimbeat_bin.parent}/fimbeat ")]


def test_make_run_writes_demo_events(fimbeat_bin, workspace):
    """`make run` as README gives it: the Makefile's own command lines, run from the repository."""
    home = workspace / "home"
    demo_tree, run = make_run_command(fimbeat_bin, home)
    subprocess.run(demo_tree, cwd=REPO, check=True, capture_output=True, timeout=30)
    demo = home / "demo"
    dirs = ["", "etc", "etc/app", "www", "www/html", "www/html/assets", "bin"]
    files = ["etc/app/app.conf", "etc/app/credentials", "www/html/index.html", "www/html/assets/site.css",
             "bin/demo-tool"]
    expected = {(str(demo / d) if d else str(demo), "dir", None) for d in dirs}
    expected |= {(str(demo / f), "file", (demo / f).stat().st_size) for f in files}
    expected.add((str(demo / "bin" / "app.conf"), "symlink", None))
    out = home / "data" / "events"
    stderr = workspace / "make-run.stderr"
    with open(stderr, "wb") as err:
        agent = subprocess.Popen(run, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)

    def demo_events() -> bool:
        if agent.poll() is not None:
            pytest.fail(f"make run's fimbeat exited with {agent.returncode}: {stderr.read_text(errors='replace')}")
        return len(read_events(out, complete_only=True)) >= len(expected)
    try:
        wait_for(demo_events, timeout=10, message=f"{len(expected)} demo events")
        agent.send_signal(signal.SIGINT)  # Ctrl-C
        assert agent.wait(10) == 0, stderr.read_text(errors="replace")
    finally:
        agent.kill()
        agent.wait()
    docs = read_events(out)
    assert summary(docs) == expected
    assert not [p for p in paths_of(docs) if "/.git" in p or p.endswith(".swp")]
    assert all(d["tags"] == ["fim-demo"] for d in docs)
    [file] = event_files(out)
    assert stat.S_IMODE(file.stat().st_mode) == 0o600
