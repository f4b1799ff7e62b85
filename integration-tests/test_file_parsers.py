"""End to end: Auditbeat's file_parsers on ELF files (output.file).

While fimbeat runs, a compiled ELF executable, a shell script and an ELF file cut short are moved
into a watched directory and the executable is chmod-ed. The executable's documents carry
file.elf.* with exactly the fields the module's file_parsers names; the script's carry none; the
cut file's carry error.message beside its hashes. Every leaf is declared in fields/fields.yml.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import wait_for
from test_ecs import FIELDS_YML, Run, Schema, actions, check_all, config_text

HELLO_C = """#include <stdio.h>
#include <stdlib.h>
int main(int argc, char** argv) {
  char* p = malloc(argc + 8); p[0] = 'x'; p[1] = 0; puts(p); puts(argv[0]); free(p); return 0;
}
"""


def compile_hello(workspace: Path) -> Path:
    if shutil.which("cc") is None:
        pytest.skip("no C compiler (cc) to build an ELF file with")
    source = workspace / "hello.c"
    source.write_text(HELLO_C)
    binary = workspace / "hello"
    subprocess.run(["cc", "-O1", "-o", str(binary), str(source)], check=True)
    return binary


def test_file_parsers_add_exactly_the_named_elf_fields(fimbeat_bin, workspace, start_agent):
    hello = compile_hello(workspace)
    root = workspace / "watched"
    root.mkdir()
    out = workspace / "out"
    module = ("  file_parsers: ['/^file\\.elf\\.(sections|import_hash|imports)$/', file.elf.go_stripped,"
              " file.pe.imphash]\n")
    run = Run.start(workspace, start_agent, "parsers", config_text([root], out, module=module), out)
    wait_for(run.agent.scan_done, message="the start-up scan", agent=run.agent)
    assert any("file.pe.* accepted but never added" in m for m in run.agent.log_messages()), run.agent.describe()

    elf_path, script, cut = root / "hello", root / "run.sh", root / "cut"
    staged = workspace / "staged"
    staged.mkdir()
    shutil.copy(hello, staged / "hello")
    (staged / "run.sh").write_text("#!/bin/sh\necho hello\n")
    (staged / "cut").write_bytes(hello.read_bytes()[:300])
    for path in (elf_path, script, cut):  # complete files appear at once
        os.replace(staged / path.name, path)

    doc = run.wait_doc(elf_path, "created")
    elf = doc["file"]["elf"]
    assert set(elf) == {"sections", "import_hash", "imports", "go_stripped"}, elf.keys()
    assert elf["sections"][0] == {"name": "", "physical_size": 0, "virtual_size": 0, "entropy": 0, "var_entropy": 0}
    names = [s["name"] for s in elf["sections"]]
    for expected in (".text", ".dynsym", ".dynstr", ".bss", ".shstrtab"):
        assert expected in names, names
    for section in elf["sections"]:
        assert set(section) == {"name", "physical_size", "virtual_size", "entropy", "var_entropy"}, section
        assert 0 <= section["entropy"] <= 8
    bss = elf["sections"][names.index(".bss")]
    assert bss["physical_size"] == 0 and bss["virtual_size"] > 0 and bss["entropy"] == 0
    text = elf["sections"][names.index(".text")]
    assert text["entropy"] > 3 and text["physical_size"] == text["virtual_size"] > 0
    for expected in ("libc.so.6.puts", "libc.so.6.malloc", "libc.so.6.free"):
        assert expected in elf["imports"], elf["imports"]
    assert elf["import_hash"] == hashlib.md5(",".join(elf["imports"]).encode()).hexdigest()
    assert elf["go_stripped"] is False
    assert doc["file"]["hash"]["sha1"] == hashlib.sha1(hello.read_bytes()).hexdigest()
    assert "error" not in doc, doc["error"]

    script_doc = run.wait_doc(script, "created")
    assert "elf" not in script_doc["file"] and "error" not in script_doc

    cut_doc = run.wait_doc(cut, "created")
    assert "ELF" in cut_doc["error"]["message"], cut_doc["error"]
    assert cut_doc["file"]["hash"]["sha1"] == hashlib.sha1(hello.read_bytes()[:300]).hexdigest()
    assert "elf" not in cut_doc["file"]

    # A chmod leaves the content as recorded: the event still describes the ELF file.
    os.chmod(elf_path, 0o700)
    changed = run.wait_doc(elf_path, "attributes_modified")
    assert "updated" not in actions(changed)
    assert changed["file"]["elf"] == elf

    check_all([doc, script_doc, cut_doc, changed], Schema(FIELDS_YML))
    run.stop()
