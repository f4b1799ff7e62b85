"""The baseline (issue "Baseline"): `fimbeat run` diffs every scanned path with its stored record.

Each test gets a fresh --path.home, so a fresh <path.data>/fimbeat.db, and runs the real binary
several times on it. Between runs the tree is changed while the agent is stopped; each run writes
to its own output directory, so a run's documents are exactly the files in that directory.
A run waits for the "scan done" log line (every path was observed), briefly for the documents it
expects, then stops with SIGTERM, which drains the pipeline; then the run's documents are exact.
"""

from __future__ import annotations

import grp
import hashlib
import os
import pwd
import shutil
import signal
import socket
import stat
import struct
import subprocess
import time
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterable, Optional

import pytest

from conftest import Agent, event_files, paths_of, poll, read_events, wait_for, write_config, yaml_str

NOBODY = 65534  # uid and gid of nobody/nogroup on Debian-like systems; only the numbers matter


# --- helpers -----------------------------------------------------------------------------------


def sha1(data: bytes) -> str:
    return hashlib.sha1(data).hexdigest()


def iso_ms(ns: int) -> str:
    """A timestamp in nanoseconds as fimbeat writes it: ISO-8601 UTC, floored to milliseconds."""
    ms = ns // 1_000_000
    seconds = datetime.fromtimestamp(ms // 1000, timezone.utc)
    return seconds.strftime("%Y-%m-%dT%H:%M:%S") + f".{ms % 1000:03d}Z"


def user_name(uid: int) -> Optional[str]:
    try:
        return pwd.getpwuid(uid).pw_name
    except KeyError:
        return None


def group_name(gid: int) -> Optional[str]:
    try:
        return grp.getgrgid(gid).gr_name
    except KeyError:
        return None


FILE_TYPES = {stat.S_IFREG: "file", stat.S_IFDIR: "dir", stat.S_IFLNK: "symlink", stat.S_IFIFO: "fifo",
              stat.S_IFSOCK: "socket", stat.S_IFCHR: "char_device", stat.S_IFBLK: "block_device"}


def expected_metadata(path: Path | bytes) -> dict[str, Any]:
    """file.* fields that os.lstat determines; None means the field must be absent."""
    st = os.lstat(path)
    kind = FILE_TYPES[stat.S_IFMT(st.st_mode)]
    return {
        "type": kind,
        "size": st.st_size if kind == "file" else None,
        "inode": str(st.st_ino),
        "uid": str(st.st_uid),
        "gid": str(st.st_gid),
        "owner": user_name(st.st_uid),
        "group": group_name(st.st_gid),
        "mode": format(stat.S_IMODE(st.st_mode) & 0o777, "04o"),
        "setuid": True if st.st_mode & stat.S_ISUID else None,
        "setgid": True if st.st_mode & stat.S_ISGID else None,
        "mtime": iso_ms(st.st_mtime_ns),
        "ctime": iso_ms(st.st_ctime_ns),
    }


def assert_metadata(doc: dict, expected: dict[str, Any]) -> None:
    file = doc["file"]
    for key, value in expected.items():
        if value is None:
            assert key not in file, f"file.{key} must be absent: {doc}"
        else:
            assert file.get(key) == value, f"file.{key}: {file.get(key)!r} != {value!r} in {doc}"


def by_path(docs: Iterable[dict]) -> dict[str, dict]:
    found: dict[str, dict] = {}
    for doc in docs:
        path = doc["file"]["path"]
        assert path not in found, f"two documents for {path}: {found[path]} and {doc}"
        found[path] = doc
    return found


def changed(doc: dict) -> list[str]:
    return doc.get("file_integrity", {}).get("changed_attributes", [])


def previous(doc: dict) -> dict:
    return doc.get("file_integrity", {}).get("previous", {})


def assert_event(doc: dict, actions: list[str], types: list[str]) -> None:
    assert doc["event"]["action"] == actions, doc
    assert doc["event"]["type"] == types, doc
    assert doc["event"]["category"] == ["file"], doc


def assert_change(doc: dict, actions: list[str], attributes: set[str], old: dict) -> None:
    """A change event: its actions, exactly these changed attributes, and exactly these previous values."""
    assert_event(doc, actions, ["change"])
    attrs = changed(doc)
    assert len(attrs) == len(set(attrs)) and set(attrs) == attributes, f"changed_attributes {attrs}: {doc}"
    assert previous(doc) == old, f"file_integrity.previous: {doc}"
    assert_previous_differs(doc)


def assert_previous_differs(doc: dict) -> None:
    """An attribute is listed as changed only when its previous value is not its current one."""
    old, now = previous(doc), doc["file"]
    for attr in changed(doc):
        if attr.startswith("hash."):
            kind = attr.split(".", 1)[1]
            assert old["hash"][kind] != now.get("hash", {}).get(kind), f"{attr} did not change: {doc}"
        elif attr in ("selinux", "acl"):
            assert old.get(attr) != doc["file_integrity"].get(attr), f"{attr} did not change: {doc}"
        elif attr in ("setuid", "setgid"):
            assert bool(old.get(attr)) != bool(now.get(attr)), f"{attr} did not change: {doc}"
        else:
            assert old.get(attr) != now.get(attr), f"{attr} is listed as changed but reads {now.get(attr)!r} " \
                                                   f"before and after: {doc}"


def module_yaml(paths: Iterable[Path], **options: Any) -> str:
    options.setdefault("recursive", True)
    lines = ["  - module: file_integrity", f"    paths: [{', '.join(yaml_str(p) for p in paths)}]"]
    for key, value in options.items():
        if value is None:
            continue
        if isinstance(value, bool):
            value = str(value).lower()
        elif isinstance(value, (list, tuple)):
            value = "[" + ", ".join(f"'{v}'" for v in value) + "]"
        elif isinstance(value, dict):
            value = "{" + ", ".join(f"{k}: {v}" for k, v in value.items()) + "}"
        lines.append(f"    {key}: {value}")
    return "\n".join(lines) + "\n"


EXPECT_TIMEOUT = 3.0


@dataclass
class Run:
    agent: Agent
    out: Path
    docs: list[dict]
    metrics: dict

    @property
    def scan(self) -> dict:
        return self.metrics["watcher"]["scan"]

    @property
    def baseline(self) -> dict:
        return self.metrics["baseline"]


class Runner:
    """Runs `fimbeat run` again and again on one --path.home, i.e. on one baseline."""

    def __init__(self, workspace: Path, start_agent, wrapper: Iterable[str] = ()):
        self.workspace = workspace
        self.start_agent = start_agent
        self.wrapper = list(wrapper)
        self.count = 0

    def run(self, paths: Iterable[Path], expect: Optional[int] = None, **options: Any) -> Run:
        """One run until its scan is done and `expect` documents (when given) are written, then SIGTERM."""
        self.count += 1
        out = self.workspace / f"events-{self.count}"
        config = write_config(self.workspace / f"fimbeat-{self.count}.yml",
                              "fimbeat.modules:\n" + module_yaml(paths, **options) +
                              f"output.file:\n  path: {yaml_str(out)}\n")
        agent = self.start_agent(config, name=f"run{self.count}", wrapper=self.wrapper)
        wait_for(agent.scan_done, message="the \"scan done\" log line", agent=agent)
        if expect:
            # SIGTERM drains the pipeline, so this wait is not needed for completeness; it only keeps the
            # stop away from the sweep's hand-off. A missing document is reported below, with what arrived.
            poll(lambda: len(read_events(out, complete_only=True)) >= expect or not agent.running(),
                 timeout=EXPECT_TIMEOUT)
        assert agent.stop() == 0, agent.describe()
        for file in event_files(out):
            raw = file.read_bytes()
            assert raw == b"" or raw.endswith(b"\n"), f"{file} ends in a torn line"
            raw.decode("utf-8")  # strict: every byte of the output is valid UTF-8
        docs = read_events(out)
        if expect is not None:
            assert len(docs) == expect, (f"run {self.count}: expected {expect} documents, got {len(docs)}: "
                                         f"{[(d['file']['path'], d['event']['action']) for d in docs]}")
        return Run(agent, out, docs, agent.shutdown_metrics())


@pytest.fixture
def runner(workspace: Path, start_agent) -> Runner:
    return Runner(workspace, start_agent)


def tree_paths(root: Path) -> list[Path]:
    """The root and everything below it, without following symlinks."""
    found = [root]
    for dirpath, dirnames, filenames in os.walk(root):
        found.extend(Path(dirpath, name) for name in dirnames + filenames)
    return found


def regular_files(paths: Iterable[Path]) -> list[Path]:
    return [p for p in paths if stat.S_ISREG(os.lstat(p).st_mode)]


def make_tree(root: Path, files: dict[str, bytes], dirs: Iterable[str] = ()) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for d in dirs:
        (root / d).mkdir(parents=True, exist_ok=True)
    for rel, data in files.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_bytes(data)


def rewrite_keeping_size(path: Path, data: bytes, keep_mtime: bool) -> None:
    """New content of the same size; the mtime is the old one (keep_mtime) or surely a new one."""
    before = os.lstat(path)
    assert len(data) == before.st_size and data != path.read_bytes()
    path.write_bytes(data)
    if keep_mtime:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns))
    elif os.lstat(path).st_mtime_ns // 1_000_000 == before.st_mtime_ns // 1_000_000:
        os.utime(path, ns=(before.st_atime_ns, before.st_mtime_ns + 1_000_000_000))  # coarse clock: move it
    assert os.lstat(path).st_ctime_ns != before.st_ctime_ns, "a write moves the ctime"


# --- 1. the first run --------------------------------------------------------------------------


def test_first_run_reports_every_path_once_as_initial_scan_with_lstat_metadata(workspace, runner):
    root = workspace / "tree"
    contents = {
        "hello.txt": b"hello world\n",
        "archive.tar.gz": b"\x1f\x8b\x08\x00" + bytes(range(256)) * 4,
        ".bashrc": b"export X=1\n",
        "noext": b"no extension",
        "trailing.": b"a name ending in a dot",
        "empty": b"",
        "sub/data.bin": bytes(range(256)) * 12,
        "sub/suid-tool": b"#!/bin/sh\nexit 0\n",
    }
    make_tree(root, contents, dirs=["sub", "sgid-dir"])
    os.chmod(root / "hello.txt", 0o640)
    os.chmod(root / "sub" / "suid-tool", 0o4755)
    os.chmod(root / "sgid-dir", 0o2775)
    os.symlink("sub/data.bin", root / "rel-link")
    os.symlink("sub", root / "dir-link")
    os.symlink("missing/target", root / "dangling")
    paths = tree_paths(root)

    run = runner.run([root], expect=len(paths))

    docs = by_path(run.docs)
    assert set(docs) == {str(p) for p in paths}
    for path in paths:
        doc = docs[str(path)]
        assert_event(doc, ["initial_scan"], ["info"])
        assert "file_integrity" not in doc and "error" not in doc, doc
        assert_metadata(doc, expected_metadata(path))
        assert doc["file"]["name"] == path.name, doc
        kind = doc["file"]["type"]
        if kind == "file":
            assert doc["file"]["hash"] == {"sha1": sha1(path.read_bytes())}, doc
        else:
            assert "hash" not in doc["file"] and "extension" not in doc["file"], doc
        if kind != "symlink":
            assert "target_path" not in doc["file"], doc

    extensions = {name: docs[str(root / name)]["file"].get("extension") for name in contents}
    assert extensions == {"hello.txt": "txt", "archive.tar.gz": "gz", ".bashrc": None, "noext": None,
                          "trailing.": None, "empty": None, "sub/data.bin": "bin", "sub/suid-tool": None}
    assert docs[str(root / "sub" / "suid-tool")]["file"]["setuid"] is True
    assert docs[str(root / "sub" / "suid-tool")]["file"]["mode"] == "0755"
    assert docs[str(root / "sgid-dir")]["file"]["setgid"] is True
    assert docs[str(root / "hello.txt")]["file"]["mode"] == "0640"
    assert docs[str(root / "hello.txt")]["file"]["mime_type"] == "text/plain"
    assert docs[str(root / "rel-link")]["file"]["target_path"] == str(root / "sub" / "data.bin")
    assert docs[str(root / "dir-link")]["file"]["target_path"] == str(root / "sub")
    assert docs[str(root / "dangling")]["file"]["target_path"] == str(root / "missing" / "target")

    files = regular_files(paths)
    assert run.scan["files"] == len(paths), run.metrics
    assert run.scan["bytes_hashed"] == sum(os.lstat(p).st_size for p in files), run.metrics
    assert run.scan["hashes_reused"] == 0, run.metrics
    assert (run.baseline["changes"], run.baseline["unchanged"], run.baseline["deleted"]) == (len(paths), 0, 0)
    assert (Path(runner.workspace) / "home" / "data" / "fimbeat.db").is_dir(), "the baseline lives in path.data"


# --- 2. changes while stopped ------------------------------------------------------------------


def test_second_run_reports_exactly_the_changes_made_while_stopped(workspace, runner):
    root = workspace / "tree"
    make_tree(root, {
        "keep1.txt": b"unchanged one\n",
        "keep2.bin": bytes(range(200)),
        "kept/k.txt": b"unchanged in a subdirectory\n",
        "content.txt": b"AAAA-content-AAAA",
        "sneaky.txt": b"same size, same mtime",
        "grown.txt": b"short",
        "chmod.txt": b"mode changes",
        "chown.txt": b"owner changes",
        "to-symlink.txt": b"becomes a symlink",
        "gone.txt": b"deleted while stopped",
        "gone-dir/a": b"a",
        "gone-dir/b": b"bb",
        "gone-dir/deep/c": b"ccc",
    })
    os.chmod(root / "chmod.txt", 0o644)
    os.symlink("keep1.txt", root / "keep-link")
    first = tree_paths(root)
    runner.run([root], expect=len(first))

    before = {str(p): os.lstat(p) for p in first}
    old_sha1 = {str(p): sha1(p.read_bytes()) for p in regular_files(first)}
    gone = [root / "gone.txt"] + [p for p in first if str(p).startswith(f"{root}/gone-dir")]
    assert len(gone) == 6
    old_gone = {str(p): expected_metadata(p) for p in gone}

    (root / "new.txt").write_bytes(b"created while stopped")
    (root / "newdir").mkdir()
    (root / "newdir" / "inner").write_bytes(b"inner")
    rewrite_keeping_size(root / "content.txt", b"BBBB-content-BBBB", keep_mtime=False)
    rewrite_keeping_size(root / "sneaky.txt", b"SAME SIZE, SAME MTIME", keep_mtime=True)
    with open(root / "grown.txt", "ab") as f:
        f.write(b" and longer")
    os.chmod(root / "chmod.txt", 0o600)
    os.chown(root / "chown.txt", NOBODY, NOBODY)
    # A new inode for the symlink: created beside the file, then renamed over it.
    os.symlink("content.txt", root / "to-symlink.tmp")
    os.replace(root / "to-symlink.tmp", root / "to-symlink.txt")
    (root / "gone.txt").unlink()
    shutil.rmtree(root / "gone-dir")

    changed_paths = ["new.txt", "newdir", "newdir/inner", "content.txt", "sneaky.txt", "grown.txt", "chmod.txt",
                     "chown.txt", "to-symlink.txt"]
    second = runner.run([root], expect=len(changed_paths) + len(gone))

    docs = by_path(second.docs)
    assert set(docs) == {str(root / p) for p in changed_paths} | {str(p) for p in gone}, \
        "unchanged paths (keep*, kept/, the symlink, the directories whose entries changed) have no event"

    def old(rel: str) -> os.stat_result:
        return before[str(root / rel)]

    for rel in ("new.txt", "newdir", "newdir/inner"):
        assert_event(docs[str(root / rel)], ["created"], ["creation"])
        assert "file_integrity" not in docs[str(root / rel)]
    assert docs[str(root / "new.txt")]["file"]["hash"] == {"sha1": sha1(b"created while stopped")}

    content = docs[str(root / "content.txt")]
    assert_change(content, ["updated", "attributes_modified"], {"hash.sha1", "mtime"},
                  {"mtime": iso_ms(old("content.txt").st_mtime_ns), "hash": {"sha1": old_sha1[str(root / "content.txt")]}})
    assert content["file"]["hash"] == {"sha1": sha1(b"BBBB-content-BBBB")}

    sneaky = docs[str(root / "sneaky.txt")]
    assert_change(sneaky, ["updated"], {"hash.sha1"}, {"hash": {"sha1": old_sha1[str(root / "sneaky.txt")]}})
    assert sneaky["file"]["hash"] == {"sha1": sha1(b"SAME SIZE, SAME MTIME")}, \
        "a new ctime forces a rehash even when size and mtime are unchanged"

    assert_change(docs[str(root / "grown.txt")], ["updated", "attributes_modified"], {"hash.sha1", "size", "mtime"},
                  {"size": 5, "mtime": iso_ms(old("grown.txt").st_mtime_ns),
                   "hash": {"sha1": old_sha1[str(root / "grown.txt")]}})
    assert docs[str(root / "grown.txt")]["file"]["size"] == 16

    assert_change(docs[str(root / "chmod.txt")], ["attributes_modified"], {"mode"}, {"mode": "0644"})
    assert docs[str(root / "chmod.txt")]["file"]["mode"] == "0600"

    chown_old = old("chown.txt")
    chown_prev = {"uid": str(chown_old.st_uid), "gid": str(chown_old.st_gid)}
    chown_attrs = {"uid", "gid"}
    for attr, name_of, old_id in (("owner", user_name, chown_old.st_uid), ("group", group_name, chown_old.st_gid)):
        if name_of(old_id) != name_of(NOBODY):
            chown_attrs.add(attr)
            chown_prev[attr] = name_of(old_id) or ""
    assert chown_old.st_uid != NOBODY and chown_old.st_gid != NOBODY
    assert_change(docs[str(root / "chown.txt")], ["attributes_modified"], chown_attrs, chown_prev)
    assert_metadata(docs[str(root / "chown.txt")], expected_metadata(root / "chown.txt"))

    link = docs[str(root / "to-symlink.txt")]
    assert_change(link, ["attributes_modified"], {"type", "inode", "mode", "target_path"},
                  {"type": "file", "inode": str(old("to-symlink.txt").st_ino), "mode": "0644"})  # no old target
    assert link["file"]["type"] == "symlink" and link["file"]["target_path"] == str(root / "content.txt")
    assert "hash" not in link["file"] and "size" not in link["file"], link

    for path in gone:
        doc = docs[str(path)]
        assert_event(doc, ["deleted"], ["deletion"])
        assert set(doc["file"]) == {"path", "name", "type"}, "a deleted file's document describes no current file"
        last = doc["file_integrity"]["previous"]
        for key, value in old_gone[str(path)].items():
            if key != "type":
                assert last.get(key) == value, f"previous.{key}: {last.get(key)!r} != {value!r} in {doc}"
        if str(path) in old_sha1:
            assert last["hash"] == {"sha1": old_sha1[str(path)]}, "a deletion carries the last known hash as previous"

    untouched_files = ["keep1.txt", "keep2.bin", "kept/k.txt"]
    rehashed = ["new.txt", "newdir/inner", "content.txt", "sneaky.txt", "grown.txt", "chmod.txt", "chown.txt"]
    assert second.scan["hashes_reused"] == len(untouched_files), second.metrics
    assert second.scan["bytes_hashed"] == sum(os.lstat(root / p).st_size for p in rehashed), \
        f"only files whose ctime moved are read again: {second.metrics}"
    assert second.baseline["deleted"] == len(gone), second.metrics
    assert second.baseline["changes"] == len(changed_paths), second.metrics
    assert second.baseline["unchanged"] == len(tree_paths(root)) - len(changed_paths), second.metrics

    third = runner.run([root])
    assert third.docs == [], "the second run stored every change and removed the deleted records"


def test_setuid_setgid_and_sticky_changes_list_only_attributes_whose_value_changed(workspace, runner):
    root = workspace / "tree"
    make_tree(root, {"tool": b"#!/bin/sh\n", "shared": b"x"}, dirs=["tmp"])
    os.chmod(root / "tool", 0o4755)
    os.chmod(root / "shared", 0o755)
    os.chmod(root / "tmp", 0o755)
    runner.run([root], expect=4)
    os.chmod(root / "tool", 0o755)     # setuid cleared, permissions unchanged
    os.chmod(root / "shared", 0o2755)  # setgid set, permissions unchanged
    os.chmod(root / "tmp", 0o1755)     # sticky bit set, permissions unchanged

    run = runner.run([root])

    docs = by_path(run.docs)
    for doc in run.docs:
        assert_previous_differs(doc)
    assert_change(docs[str(root / "tool")], ["attributes_modified"], {"setuid"}, {"setuid": True})
    assert_change(docs[str(root / "shared")], ["attributes_modified"], {"setgid"}, {"setgid": False})
    assert "setuid" not in docs[str(root / "tool")]["file"] and docs[str(root / "shared")]["file"]["setgid"] is True
    assert_change(docs[str(root / "tmp")], ["attributes_modified"], {"sticky"}, {"sticky": False})
    assert docs[str(root / "tmp")]["file"]["mode"] == "0755", "file.mode holds the permission bits only, as Auditbeat's"
    assert docs[str(root / "tmp")]["file"]["sticky"] is True


# --- 3. nothing changed ------------------------------------------------------------------------


def test_run_without_changes_emits_nothing_and_rehashes_nothing(workspace, runner):
    root = workspace / "tree"
    make_tree(root, {"a.txt": b"a" * 100, "sub/b.bin": b"b" * 300, "sub/deeper/c": b"c"})
    os.symlink("a.txt", root / "link")
    paths = tree_paths(root)
    runner.run([root], expect=len(paths))

    again = runner.run([root])

    assert again.docs == [] and not any(f.stat().st_size for f in event_files(again.out)), \
        f"unchanged paths produce no event: {again.docs}"
    assert again.scan["files"] == len(paths), again.metrics
    assert again.scan["hashes_reused"] == 3 and again.scan["bytes_hashed"] == 0, again.metrics
    assert (again.baseline["changes"], again.baseline["unchanged"], again.baseline["deleted"]) == (0, len(paths), 0)


def test_after_a_crash_the_next_scan_does_not_report_a_live_change_again(workspace, runner):
    # A run killed after a live change: the change is in the baseline (written with its event), so
    # the next scan finds nothing new.
    root = workspace / "tree"
    make_tree(root, {"a.txt": b"first", "sub/b.txt": b"b"})
    paths = tree_paths(root)
    runner.run([root], expect=len(paths))

    out = workspace / "events-live"
    config = write_config(workspace / "fimbeat-live.yml", "fimbeat.modules:\n" + module_yaml([root]) +
                          f"output.file:\n  path: {yaml_str(out)}\n")
    live = runner.start_agent(config, name="live")
    wait_for(live.scan_done, message="the \"scan done\" log line", agent=live)
    (root / "a.txt").write_bytes(b"second, longer")
    assert poll(lambda: any(d["file"]["path"] == str(root / "a.txt") for d in read_events(out, complete_only=True)),
                timeout=20), live.describe()
    live.stop(signal.SIGKILL)

    after = runner.run([root])
    assert after.docs == [], f"the live change is in the baseline already: {after.docs}"
    assert (after.baseline["changes"], after.baseline["unchanged"]) == (0, len(paths)), after.metrics


# --- 4. a new hash type --------------------------------------------------------------------------


def test_added_hash_type_reports_config_change_for_every_regular_file(workspace, runner):
    root = workspace / "tree"
    data = {"a.txt": b"alpha\n", "sub/b.bin": bytes(range(256)), "empty": b"", "changed.txt": b"before"}
    make_tree(root, data)
    os.symlink("a.txt", root / "link")
    paths = tree_paths(root)
    runner.run([root], expect=len(paths))
    (root / "changed.txt").write_bytes(b"after, and longer")
    data["changed.txt"] = b"after, and longer"

    run = runner.run([root], expect=len(data), hash_types=["sha1", "sha256"])

    docs = by_path(run.docs)
    assert set(docs) == {str(root / rel) for rel in data}, "only regular files have a new hash to report"
    for rel, content in data.items():
        doc = docs[str(root / rel)]
        assert doc["file"]["hash"] == {"sha1": sha1(content), "sha256": hashlib.sha256(content).hexdigest()}, doc
        if rel == "changed.txt":
            assert_event(doc, ["updated", "attributes_modified", "config_change"], ["change"])
            assert set(changed(doc)) == {"hash.sha1", "size", "mtime"}, doc
        else:
            assert_event(doc, ["config_change"], ["change"])
            assert "hash.sha1" not in changed(doc), doc

    again = runner.run([root], hash_types=["sha1", "sha256"])
    assert again.docs == [], "the new hashes were stored"
    assert again.scan["hashes_reused"] == len(data), again.metrics


# --- 5. verify_hashes: always ---------------------------------------------------------------------


def test_verify_hashes_always_rehashes_every_file(workspace, runner):
    root = workspace / "tree"
    make_tree(root, {"a": b"a" * 1000, "b": b"b" * 2500, "sub/c": b"c" * 7, "sub/empty": b""})
    paths = tree_paths(root)
    total = sum(os.lstat(p).st_size for p in regular_files(paths))
    runner.run([root], expect=len(paths))

    always = runner.run([root], scan={"verify_hashes": "always"})
    assert always.docs == []
    assert always.scan["hashes_reused"] == 0 and always.scan["bytes_hashed"] == total, always.metrics

    changed_only = runner.run([root])  # the default, verify_hashes: changed, for contrast
    assert changed_only.docs == []
    assert changed_only.scan["hashes_reused"] == 4 and changed_only.scan["bytes_hashed"] == 0, changed_only.metrics


# --- 6. FIFOs and sockets ----------------------------------------------------------------------


def test_fifo_and_socket_are_reported_by_type_without_hash_and_do_not_block(workspace, runner):
    root = workspace / "tree"
    make_tree(root, {"regular": b"r", "was-file": b"becomes a fifo"})
    os.mkfifo(root / "pipe")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        sock.bind(str(root / "sock"))
        sock.listen(1)
        paths = tree_paths(root)
        first = runner.run([root], expect=len(paths))
        docs = by_path(first.docs)
        for rel, kind in (("pipe", "fifo"), ("sock", "socket")):
            doc = docs[str(root / rel)]
            assert doc["file"]["type"] == kind, doc
            assert not {"hash", "size", "mime_type"} & set(doc["file"]) and "error" not in doc, doc
            assert_metadata(doc, expected_metadata(root / rel))
        assert first.scan["bytes_hashed"] == len(b"r") + len(b"becomes a fifo"), first.metrics
        assert first.scan["errors"] == 0, "special files are not opened, so nothing fails"

        # A FIFO in a file's place: nothing may open it (an open would wait for a writer).
        os.mkfifo(root / "was-fifo.tmp")
        os.replace(root / "was-fifo.tmp", root / "was-file")
        second = runner.run([root], expect=1)
        [doc] = second.docs
        assert doc["file"]["path"] == str(root / "was-file") and doc["file"]["type"] == "fifo", doc
        assert_event(doc, ["attributes_modified"], ["change"])
        assert {"type", "inode"} <= set(changed(doc)), doc
        assert previous(doc)["type"] == "file", doc
        assert "hash" not in doc["file"], doc
    finally:
        sock.close()


# --- 7. names that are not UTF-8 --------------------------------------------------------------


def test_invalid_utf8_names_are_keyed_on_raw_bytes(workspace, runner):
    root = workspace / "names"
    root.mkdir()
    broot = os.fsencode(root)
    raw = [os.path.join(broot, b"bad\xff.txt"), os.path.join(broot, b"bad\xfe.txt"),  # one display name
           os.path.join(broot, b"dir\xc3"), os.path.join(broot, b"dir\xc3", b"inner")]
    for path, content in ((raw[0], b"ff"), (raw[1], b"fe")):
        with open(path, "wb") as f:
            f.write(content)
    os.mkdir(raw[2])
    with open(raw[3], "wb") as f:
        f.write(b"inner")
    shown = f"{root}/bad\ufffd.txt"

    first = runner.run([root], expect=5)
    paths = sorted(paths_of(first.docs))
    assert paths == sorted([str(root), shown, shown, f"{root}/dir\ufffd", f"{root}/dir\ufffd/inner"])
    twins = [d for d in first.docs if d["file"]["path"] == shown]
    assert {d["file"]["hash"]["sha1"] for d in twins} == {sha1(b"ff"), sha1(b"fe")}
    assert {d["file"]["inode"] for d in twins} == {str(os.lstat(raw[0]).st_ino), str(os.lstat(raw[1]).st_ino)}

    second = runner.run([root])
    assert second.docs == [], "each raw name has its own record: no spurious change between the twins"
    assert second.scan["hashes_reused"] == 3, second.metrics

    os.unlink(raw[1])
    third = runner.run([root], expect=1)
    [doc] = third.docs
    assert_event(doc, ["deleted"], ["deletion"])
    assert doc["file"]["path"] == shown and doc["file_integrity"]["previous"]["hash"] == {"sha1": sha1(b"fe")}, doc


# --- 8. max_file_size and mime_type ------------------------------------------------------------


def test_max_file_size_skips_hashing_bigger_files_only(workspace, runner):
    root = workspace / "tree"
    make_tree(root, {"big.txt": b"x" * 4096, "exact.txt": b"y" * 1024, "small.txt": b"z" * 10})
    paths = tree_paths(root)

    first = runner.run([root], expect=len(paths), max_file_size="1 KiB")
    docs = by_path(first.docs)
    big = docs[str(root / "big.txt")]["file"]
    assert "hash" not in big and big["size"] == 4096, big
    assert big["mime_type"] == "text/plain", "the MIME type of a file too big to hash is still detected"
    assert docs[str(root / "exact.txt")]["file"]["hash"] == {"sha1": sha1(b"y" * 1024)}, \
        "a file of exactly max_file_size bytes is hashed"
    assert docs[str(root / "small.txt")]["file"]["hash"] == {"sha1": sha1(b"z" * 10)}
    assert first.scan["over_max_file_size"] == 1, first.metrics
    assert first.scan["bytes_hashed"] == 1024 + 10, first.metrics

    second = runner.run([root], max_file_size="1 KiB")
    assert second.docs == [], "a file without hash is not reported again while it does not change"
    assert second.scan["over_max_file_size"] == 1, second.metrics


def test_mime_type_false_disables_detection(workspace, runner):
    root = workspace / "tree"
    make_tree(root, {"big.txt": b"x" * 4096, "small.txt": b"hello\n"})
    run = runner.run([root], expect=3, max_file_size="1 KiB", mime_type=False)
    assert all("mime_type" not in d["file"] for d in run.docs), run.docs
    assert by_path(run.docs)[str(root / "small.txt")]["file"]["hash"] == {"sha1": sha1(b"hello\n")}


def test_scan_rate_per_sec_limits_hashing_throughput(workspace, runner):
    root = workspace / "tree"
    count, size, rate = 24, 1024, 32 * 1024
    make_tree(root, {f"f{i:02}": bytes([i]) * size for i in range(count)})
    started = time.monotonic()

    run = runner.run([root], expect=count + 1, scan_rate_per_sec=f"{rate // 1024} KiB", max_file_size="1 KiB")

    # The bucket holds max_file_size bytes, shared by every worker: the rest waits for tokens.
    minimum = (count * size - size) / rate
    assert time.monotonic() - started >= minimum, f"{count * size} bytes at {rate} B/s took less than {minimum} s"
    assert run.scan["bytes_hashed"] == count * size, run.metrics


# --- 9. excluded directories are never read ----------------------------------------------------


def test_excluded_directory_is_never_read(workspace, runner):
    root = workspace / "tree"
    make_tree(root, {"a.txt": b"a", "control/b.txt": b"b"})
    skip = root / "skipme"
    skip.mkdir()
    first = skip / "f00000"
    first.write_bytes(b"")
    for i in range(1, 10_000):  # hard links of one empty file: 10,000 entries, made fast
        os.link(first, skip / f"f{i:05}")
    # An old atime is updated by any read of the directory (relatime), so it shows whether it was listed.
    old = 1_000_000_000 * 10**9
    for d in (skip, root / "control"):
        os.utime(d, ns=(old, old))

    run = runner.run([root], expect=4, exclude_files=[r"/skipme($|/)"])

    paths = paths_of(run.docs)
    assert sorted(paths) == sorted([str(root), str(root / "a.txt"), str(root / "control"), str(root / "control" / "b.txt")])
    assert run.scan["files"] == len(paths), f"nothing under the excluded directory is looked at: {run.metrics}"
    if os.stat(root / "control").st_atime_ns == old:
        pytest.skip("atime is not updated on this file system: cannot tell whether the directory was listed")
    assert os.stat(skip).st_atime_ns == old, "the excluded directory was listed"


def test_a_newly_excluded_path_is_not_reported_deleted_and_its_record_is_dropped(workspace, runner):
    """As Auditbeat: a path that exclude_files now excludes still exists; its record goes quietly."""
    root = workspace / "tree"
    make_tree(root, {"keep.txt": b"k", "notes.swp": b"s", "cache/x.bin": b"x"})
    runner.run([root], expect=5)
    run = runner.run([root], exclude_files=[r"\.swp$", r"/cache$"])
    assert run.docs == [], [(d["file"]["path"], d["event"]["action"]) for d in run.docs]
    assert run.metrics["baseline"]["records"]["out_of_scope"] == 3, run.metrics["baseline"]
    assert run.metrics["baseline"]["deleted"] == 0
    again = runner.run([root], expect=3)  # excluded no more: seen as new, since their records are gone
    assert sorted(paths_of(again.docs)) == sorted([str(root / "notes.swp"), str(root / "cache"), str(root / "cache" / "x.bin")])


# --- 10. roots that share a prefix ---------------------------------------------------------------


def test_root_never_touches_records_of_a_root_sharing_its_prefix(workspace, runner):
    x = workspace / "x"
    make_tree(x / "a", {"keep": b"k", "doomed": b"d"})
    make_tree(x / "ab", {"one": b"1", "sub/two": b"22"})
    a_paths, ab_paths = tree_paths(x / "a"), tree_paths(x / "ab")
    runner.run([x / "a", x / "ab"], expect=len(a_paths) + len(ab_paths))

    (x / "a" / "doomed").unlink()
    only_a = runner.run([x / "a"], expect=1)
    [doc] = only_a.docs
    assert doc["file"]["path"] == str(x / "a" / "doomed"), doc
    assert_event(doc, ["deleted"], ["deletion"])
    assert only_a.baseline["deleted"] == 1, only_a.metrics

    both = runner.run([x / "a", x / "ab"])
    assert both.docs == [], "the records of /x/ab were kept while it was not configured"
    assert both.scan["hashes_reused"] == 3, both.metrics


def test_root_added_later_reports_initial_scan_while_known_root_reports_created(workspace, runner):
    old, new = workspace / "old", workspace / "new"
    make_tree(old, {"a": b"a"})
    make_tree(new, {"b": b"b", "sub/c": b"c"})
    runner.run([old], expect=2)
    (old / "fresh").write_bytes(b"fresh")

    run = runner.run([old, new], expect=1 + 4)

    docs = by_path(run.docs)
    assert_event(docs[str(old / "fresh")], ["created"], ["creation"])
    for path in tree_paths(new):
        assert_event(docs[str(path)], ["initial_scan"], ["info"])


# --- 11. unreadable files ----------------------------------------------------------------------


def unprivileged_wrapper(probe: Path) -> list[str]:
    """How to run the agent so that mode 000 keeps it out: as root, without the DAC capabilities."""
    if os.geteuid() != 0:
        return []
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("running as root and setpriv is missing: cannot make a file unreadable to the agent")
    wrapper = [setpriv, "--bounding-set", "-dac_override,-dac_read_search", "--"]
    check = subprocess.run([*wrapper, "cat", str(probe)], capture_output=True, timeout=10)
    if check.returncode == 0:
        pytest.skip("setpriv could not drop CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH: mode 000 files stay readable")
    return wrapper


def test_unreadable_file_is_reported_with_an_error_and_keeps_its_last_hash(workspace, start_agent):
    root = workspace / "tree"
    make_tree(root, {"readable.txt": b"readable", "locked.txt": b"never readable", "later.txt": b"readable at first"})
    os.chmod(root / "locked.txt", 0)
    runner = Runner(workspace, start_agent, wrapper=unprivileged_wrapper(root / "locked.txt"))

    first = runner.run([root], expect=4)
    docs = by_path(first.docs)
    locked = docs[str(root / "locked.txt")]
    assert_event(locked, ["initial_scan"], ["info"])
    assert_metadata(locked, expected_metadata(root / "locked.txt"))
    assert locked["file"]["mode"] == "0000" and "hash" not in locked["file"], locked
    assert "failed to hash" in locked["error"]["message"] and str(root / "locked.txt") in locked["error"]["message"]
    assert "error" not in docs[str(root / "readable.txt")]
    assert first.scan["errors"] == 1, first.metrics

    os.chmod(root / "later.txt", 0)
    second = runner.run([root], expect=1)
    [later] = second.docs
    assert later["file"]["path"] == str(root / "later.txt"), later
    assert_change(later, ["attributes_modified"], {"mode"}, {"mode": "0644"})
    assert later["file"]["hash"] == {"sha1": sha1(b"readable at first")}, "the last known hash is kept"
    assert "failed to hash" in later["error"]["message"], later

    os.chmod(root / "locked.txt", 0o644)
    os.chmod(root / "later.txt", 0o644)
    third = runner.run([root], expect=2)
    docs = by_path(third.docs)
    for rel, content in (("locked.txt", b"never readable"), ("later.txt", b"readable at first")):
        assert_change(docs[str(root / rel)], ["attributes_modified"], {"mode"}, {"mode": "0000"})
        assert docs[str(root / rel)]["file"]["hash"] == {"sha1": sha1(content)}
        assert "error" not in docs[str(root / rel)]


# --- ACLs --------------------------------------------------------------------------------------


def posix_acl(user_perm: int) -> bytes:
    """system.posix_acl_access: user::rw-, user:<nobody>:<user_perm>, group::r--, mask::r--, other::---."""
    entries = [(0x01, 6, 0xFFFFFFFF), (0x02, user_perm, NOBODY), (0x04, 4, 0xFFFFFFFF), (0x10, 4, 0xFFFFFFFF),
               (0x20, 0, 0xFFFFFFFF)]
    return struct.pack("<I", 2) + b"".join(struct.pack("<HHI", *e) for e in entries)


def test_acl_is_reported_and_its_removal_is_an_attribute_change(workspace, runner):
    root = workspace / "tree"
    make_tree(root, {"shared.txt": b"shared", "plain.txt": b"plain"})
    os.chmod(root / "shared.txt", 0o640)
    try:
        os.setxattr(root / "shared.txt", "system.posix_acl_access", posix_acl(4))
    except OSError as e:
        pytest.skip(f"POSIX ACLs are not supported here: {e}")
    nobody = user_name(NOBODY) or str(NOBODY)

    first = runner.run([root], expect=3)
    docs = by_path(first.docs)
    acl = docs[str(root / "shared.txt")]["file_integrity"]["acl"]
    assert f"user:{nobody}:r--" in acl.split(","), acl
    assert "file_integrity" not in docs[str(root / "plain.txt")], "a file without an extended ACL has none"

    os.removexattr(root / "shared.txt", "system.posix_acl_access")
    second = runner.run([root], expect=1)
    [doc] = second.docs
    assert_change(doc, ["attributes_modified"], {"acl"}, {"acl": acl})
    assert "acl" not in doc["file_integrity"], doc
