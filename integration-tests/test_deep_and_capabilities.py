"""Never blind, never silent (issue 16): paths longer than PATH_MAX, and missing capabilities.

A chain of 2,000 directories of 10-byte names puts a file 22,000 bytes of path deep, far past
PATH_MAX (4,096), where no system call can take the whole path: fimbeat must reach it through
its parents' descriptors at the first scan, at the second scan (the merge walk against the
baseline) and when the chain is made live.

Run as root without CAP_DAC_READ_SEARCH (setpriv), fanotify can mark filesystems but never open
the file handles its events carry: fimbeat must prove that at start, say which capability is
missing and watch with inotify instead, so that live changes are still reported.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from conftest import read_events, wait_for, write_config, yaml_str

DEPTH = 2000
NAME = "d123456789"  # 10 bytes, 11 a level with its '/'
LEAF = "leaf.txt"
POLL = 0.2  # the documents of 2,000 directories weigh about 25 MB: parsed less often than usual


def deep_path(top: Path, depth: int = DEPTH) -> str:
    return str(top) + ("/" + NAME) * depth


def open_chain(top: Path, depth: int, create: bool) -> int:
    """A descriptor of the directory `depth` levels below `top`, made on the way when `create`."""
    fd = os.open(top, os.O_RDONLY | os.O_DIRECTORY)
    for _ in range(depth):
        if create:
            os.mkdir(NAME, dir_fd=fd)
        below = os.open(NAME, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=fd)
        os.close(fd)
        fd = below
    return fd


def write_leaf(top: Path, data: bytes, create_chain: bool = False) -> str:
    fd = open_chain(top, DEPTH, create_chain)
    try:
        leaf = os.open(LEAF, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644, dir_fd=fd)
        os.write(leaf, data)
        os.close(leaf)
    finally:
        os.close(fd)
    return deep_path(top) + "/" + LEAF


def remove_tree(path: Path) -> None:
    """rm -rf through descriptors, without recursion (shutil.rmtree recurses once per level)."""
    if not path.exists():
        return
    stack = [os.open(path, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW)]
    names: list[str] = []
    while stack:
        with os.scandir(stack[-1]) as it:
            entries = list(it)
        subdirectory = None
        for entry in entries:
            if entry.is_dir(follow_symlinks=False):
                subdirectory = entry.name
            else:
                os.unlink(entry.name, dir_fd=stack[-1])
        if subdirectory is not None:
            stack.append(os.open(subdirectory, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=stack[-1]))
            names.append(subdirectory)
            continue
        os.close(stack.pop())
        if names:
            os.rmdir(names.pop(), dir_fd=stack[-1])
    os.rmdir(path)


@pytest.fixture
def tree(workspace: Path):
    root = workspace / "tree"
    root.mkdir()
    yield root
    remove_tree(root)  # pytest's own clean-up cannot remove a tree this deep


def config_for(workspace: Path, root: Path, backend: str, name: str = "fimbeat") -> Path:
    return write_config(workspace / f"{name}.yml", (
        "fimbeat.modules:\n- module: file_integrity\n"
        f"  paths: [{yaml_str(root)}]\n  recursive: true\n  hash_types: [sha256]\n  mime_type: false\n"
        f"  realtime.quiet_period: 200ms\n  backend: {backend}\n"
        f"output.file:\n  path: {yaml_str(workspace / 'events')}\n"))


def document(workspace: Path, path: str, action: str) -> Optional[dict]:
    for doc in read_events(workspace / "events", complete_only=True):
        if doc["file"]["path"] == path and action in doc["event"]["action"]:
            return doc
    return None


def test_a_file_2000_directories_deep_is_scanned_then_settled_unchanged_then_updated(workspace, start_agent, tree):
    leaf = write_leaf(tree, b"deep\n", create_chain=True)
    assert len(leaf.encode()) > 22000
    config = config_for(workspace, tree, "inotify")

    first = start_agent(config, name="first")
    found = wait_for(lambda: document(workspace, leaf, "initial_scan"), timeout=60, interval=POLL,
                     message="the leaf's initial_scan document", agent=first)
    assert found["file"]["hash"]["sha256"] == hashlib.sha256(b"deep\n").hexdigest()
    print(f"deepest path reported at start: {DEPTH} levels, {len(leaf.encode())} bytes")
    assert first.stop() == 0, first.describe()
    docs = read_events(workspace / "events")
    assert [d for d in docs if "error" in d] == []
    assert len(docs) == DEPTH + 2  # the root, every level, the leaf
    assert first.shutdown_metrics()["watcher"]["scan"].get("errors", 0) == 0

    # While stopped, only the leaf changes: the second scan (the merge walk) finds it updated and
    # every one of the 2,000 directories unchanged.
    write_leaf(tree, b"deeper\n")
    second = start_agent(config, name="second")
    updated = wait_for(lambda: document(workspace, leaf, "updated"), timeout=60, interval=POLL,
                       message="the leaf's updated document", agent=second)
    assert updated["file"]["hash"]["sha256"] == hashlib.sha256(b"deeper\n").hexdigest()
    wait_for(second.scan_done, message="the second scan", agent=second)
    assert second.stop() == 0, second.describe()
    later = read_events(workspace / "events")[len(docs):]
    assert [(d["file"]["path"] == leaf, "updated" in d["event"]["action"]) for d in later] == [(True, True)]
    assert second.shutdown_metrics()["watcher"]["scan"].get("errors", 0) == 0


def fanotify_reason() -> Optional[str]:
    from test_fanotify import fanotify_usable  # the same probe as the fanotify tests
    return fanotify_usable()


@pytest.mark.parametrize("backend", ["inotify", "fanotify"])
def test_a_chain_2000_directories_deep_made_live_is_reported_to_its_leaf(workspace, start_agent, tree, backend):
    if backend == "fanotify" and (reason := fanotify_reason()):
        pytest.skip(reason)
    agent = start_agent(config_for(workspace, tree, backend))
    wait_for(agent.scan_done, message="the start-up scan", agent=agent)
    assert any(f"with {backend}" in m for m in agent.log_messages()), agent.describe()

    leaf = write_leaf(tree, b"made live\n", create_chain=True)
    found = wait_for(lambda: document(workspace, leaf, "created"), timeout=120, interval=POLL,
                     message="the live leaf's created document", agent=agent)
    assert found["file"]["hash"]["sha256"] == hashlib.sha256(b"made live\n").hexdigest()
    print(f"deepest path reported live ({backend}): {DEPTH} levels, {len(leaf.encode())} bytes")
    deepest = wait_for(lambda: document(workspace, deep_path(tree), "created"), timeout=60, interval=POLL,
                       message="the deepest directory's created document", agent=agent)
    assert deepest["file"]["type"] == "dir"
    assert agent.stop() == 0, agent.describe()
    docs = read_events(workspace / "events")
    assert [d for d in docs if "error" in d] == []
    created = {d["file"]["path"] for d in docs if "created" in d["event"]["action"]}
    assert all(str(tree) + ("/" + NAME) * level in created for level in range(1, DEPTH + 1))


CAP_DAC_READ_SEARCH = 2
DROP_DAC_READ_SEARCH = ["--inh-caps", "-dac_read_search", "--bounding-set", "-dac_read_search"]


def without_dac_read_search() -> list[str]:
    """setpriv's command line that runs a program as root without CAP_DAC_READ_SEARCH (or a skip)."""
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is missing: cannot drop CAP_DAC_READ_SEARCH")
    wrapper = [setpriv, *DROP_DAC_READ_SEARCH, "--"]
    status = subprocess.run([*wrapper, "cat", "/proc/self/status"], capture_output=True, text=True, timeout=10)
    effective = re.search(r"^CapEff:\s*([0-9a-f]+)$", status.stdout, re.M)
    if status.returncode != 0 or effective is None:
        pytest.skip(f"setpriv cannot drop capabilities here: {status.stderr.strip()[:200]}")
    if int(effective.group(1), 16) & (1 << CAP_DAC_READ_SEARCH):
        pytest.skip("setpriv ran the program with CAP_DAC_READ_SEARCH still effective")
    return wrapper


@pytest.mark.parametrize("backend", ["auto", "fanotify"])
def test_fanotify_without_cap_dac_read_search_falls_back_to_inotify_and_says_why(workspace, start_agent, backend):
    if reason := fanotify_reason():
        pytest.skip(reason)
    wrapper = without_dac_read_search()
    root = workspace / "watched"
    root.mkdir()
    agent = start_agent(config_for(workspace, root, backend), wrapper=wrapper)
    wait_for(agent.scan_done, message="the start-up scan", agent=agent)
    messages = agent.log_messages()
    fallback = [m for m in messages if "CAP_DAC_READ_SEARCH" in m and "using inotify" in m]
    assert len(fallback) == 1, agent.describe()
    assert any(m.startswith("watching 1 path(s) in real time with inotify") for m in messages), agent.describe()

    (root / "live.txt").write_bytes(b"seen live\n")
    found = wait_for(lambda: document(workspace, str(root / "live.txt"), "created"), timeout=30,
                     message="the live file's created document", agent=agent)
    assert found["file"]["hash"]["sha256"] == hashlib.sha256(b"seen live\n").hexdigest()
    assert agent.stop() == 0, agent.describe()
    print("fallback message:", fallback[0])
