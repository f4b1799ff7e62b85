"""After a failed hash (issue 19): the event never carries the old hash beside the new size, and a
file that could not be read becomes readable with different content: the event says `updated`.

fimbeat runs as root, which reads everything: the run that must fail to read a file drops
CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH (setpriv), so that a mode 0000 file is unreadable to it.
The last run has them again and finds the file unchanged on disk since the failed run: only its
content is new to fimbeat, and it must say so.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import read_events, wait_for, write_config, yaml_str

DROP_DAC = ["--inh-caps", "-dac_override,-dac_read_search", "--bounding-set", "-dac_override,-dac_read_search"]


def without_dac() -> list[str]:
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        pytest.skip("setpriv (util-linux) is missing: cannot drop CAP_DAC_OVERRIDE")
    if os.geteuid() != 0:
        pytest.skip("needs root, to drop CAP_DAC_OVERRIDE and CAP_DAC_READ_SEARCH")
    wrapper = [setpriv, *DROP_DAC, "--"]
    status = subprocess.run([*wrapper, "cat", "/proc/self/status"], capture_output=True, text=True, timeout=10)
    effective = re.search(r"^CapEff:\s*([0-9a-f]+)$", status.stdout, re.M)
    if status.returncode != 0 or effective is None or int(effective.group(1), 16) & 0b110:
        pytest.skip(f"setpriv cannot drop CAP_DAC_OVERRIDE here: {status.stderr.strip()[:200]}")
    return wrapper


def config(workspace: Path, root: Path, out: Path) -> Path:
    return write_config(workspace / f"{out.name}.yml", f"""\
fimbeat.modules:
- module: file_integrity
  paths: [{yaml_str(root)}]
  hash_types: [sha1]
  backend: fsnotify
output.file:
  path: {yaml_str(out)}
""")


def scan(workspace: Path, start_agent, root: Path, name: str, wrapper: list[str] = ()) -> list[dict]:
    out = workspace / name
    agent = start_agent(config(workspace, root, out), name=name, wrapper=list(wrapper))
    wait_for(agent.scan_done, message="the start-up scan", agent=agent)
    assert agent.stop() == 0, agent.describe()
    return [d for d in read_events(out, complete_only=True) if d["file"]["path"].endswith("/f.conf")]


def test_a_file_changed_while_unreadable_then_read_again(workspace, start_agent):
    wrapper = without_dac()
    root = workspace / "tree"
    root.mkdir()
    f = root / "f.conf"
    f.write_bytes(b"version one\n")
    [first] = scan(workspace, start_agent, root, "first")
    assert first["file"]["hash"]["sha1"] == hashlib.sha1(b"version one\n").hexdigest()

    f.write_bytes(b"version two, which is longer\n")
    f.chmod(0)
    [failed] = scan(workspace, start_agent, root, "unreadable", wrapper)
    assert "error" in failed, failed
    assert failed["file"]["size"] == len(b"version two, which is longer\n")
    assert "hash" not in failed["file"], f"the old digest beside the new size: {failed['file']}"
    assert failed["file_integrity"]["previous"]["size"] == len(b"version one\n")

    # Readable again (full capabilities), nothing changed on disk since the failed run.
    [read] = scan(workspace, start_agent, root, "readable")
    assert "updated" in read["event"]["action"], read["event"]
    assert read["file"]["hash"]["sha1"] == hashlib.sha1(b"version two, which is longer\n").hexdigest()
    assert "hash.sha1" in read["file_integrity"]["changed_attributes"]
    assert "error" not in read
