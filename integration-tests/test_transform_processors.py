"""convert, decode_json_fields, dissect, extract_array, rate_limit, add_id and script in one config
of the real binary: the documents of output.file, and the bulk `_id` against the Elasticsearch
stand-in (es_endpoint.py, which follows Elasticsearch's bulk API documentation)."""

from __future__ import annotations

import base64
import json
import os
import time
from pathlib import Path

from conftest import read_events, run_cli, wait_for, write_config, yaml_str
from es_endpoint import EsEndpoint

SCRIPT = """\
var params = {label: "unset"};
function register(p) { params = p; }
function process(event) {
    event.Put("labels.script", params.label + ":" + (event.Get("dissect.service") || "none"));
    if (event.Get("file.name") === "skip.json") {
        event.Cancel();
    }
    if (event.Get("file.name") === "boom.json") {
        throw new Error("boom");
    }
}
function test() {
    var e = new Event({file: {name: "x"}});
    process(e);
    if (e.Get("labels.script") !== params.label + ":none") { throw "register() did not run first"; }
}
"""

MESSAGE = json.dumps({"team": "ops", "list": ["x", "y", "z"], "nested": {"level": "2"}})


def make_tree(tree: Path) -> None:
    for rel in ["svc-web/1.json", "svc-web/2.json", "svc-db/3.json", "svc-db/skip.json", "svc-db/boom.json"]:
        (tree / rel).parent.mkdir(parents=True, exist_ok=True)
        (tree / rel).write_text("{}\n")


def processors(tree: Path) -> str:
    return f"""\
processors:
  - dissect:
      when.regexp.file.path: '\\.json$'
      tokenizer: "{tree}/svc-%{{service}}/%{{seq}}.%{{ext}}"
      field: file.path
  - convert:
      fields:
        - {{from: dissect.seq, to: dissect.number, type: integer}}
        - {{from: file.inode, to: dissect.inode, type: long}}
        - {{from: file.size, to: labels.size_text, type: string}}
      ignore_missing: true
      fail_on_error: false
  - add_fields: {{target: "", fields: {{message: {yaml_str(MESSAGE)}}}}}
  - decode_json_fields: {{fields: [message], target: fields.json}}
  - extract_array: {{field: fields.json.list, mappings: {{labels.first: 0, labels.third: 2}}}}
  - drop_fields: {{fields: [message]}}
  - script:
      lang: javascript
      file: filter.js
      params: {{label: fim}}
      timeout: 5s
  - rate_limit:
      when.equals.dissect.service: web
      limit: "1/h"
  - add_id: ~
"""


def base_config(workspace: Path, tree: Path, output: str) -> str:
    return (
        f"path.config: {yaml_str(workspace)}\n"
        "fimbeat.modules:\n"
        "- module: file_integrity\n"
        f"  paths: [{yaml_str(tree)}]\n"
        "  recursive: true\n"
        "  mime_type: false\n"
        + output
        + processors(tree)
    )


def test_every_transform_processor_in_one_config_of_the_real_binary(workspace, start_agent, fimbeat_bin):
    tree = workspace / "tree"
    make_tree(tree)
    write_config(workspace / "filter.js", SCRIPT, mode=0o644)
    out = workspace / "out"
    config = write_config(workspace / "fimbeat.yml", base_config(workspace, tree, f"output.file.path: {yaml_str(out)}\n"))
    assert run_cli(fimbeat_bin, "test", "config", "-c", config, "--path.home", workspace / "home").returncode == 0

    agent = start_agent(config)
    wait_for(agent.scan_done, message="the first scan", agent=agent)
    docs = wait_for(lambda: (d := read_events(out, complete_only=True)) and len(d) >= 6 and d,
                    message="the scan's documents", agent=agent)
    assert agent.stop() == 0
    by_name = {}
    for doc in read_events(out):
        by_name.setdefault(doc["file"]["path"][len(str(tree)) + 1:], []).append(doc)
    # The tree, its two directories, and the files except skip.json (cancelled) and one of the two
    # web files (rate_limit: 1 per hour for dissect.service web).
    assert "svc-db/skip.json" not in by_name
    web = [name for name in ("svc-web/1.json", "svc-web/2.json") if name in by_name]
    assert len(web) == 1, by_name.keys()
    assert {"", "svc-web", "svc-db", "svc-db/3.json", "svc-db/boom.json"} <= set(by_name)

    doc = by_name["svc-db/3.json"][0]
    # dissect.* is an object of keywords in fields.yml: convert's integers come out as text there.
    assert doc["dissect"] == {"service": "db", "seq": "3", "ext": "json", "number": "3", "inode": doc["file"]["inode"]}
    assert doc["labels"]["size_text"] == "3"
    assert doc["fields"]["json"] == {"team": "ops", "list": ["x", "y", "z"], "nested": {"level": "2"}}
    assert doc["labels"]["first"] == "x" and doc["labels"]["third"] == "z"
    assert doc["labels"]["script"] == "fim:db"
    assert "message" not in doc and "@metadata" not in doc and "error" not in doc
    assert by_name[""][0]["labels"]["script"] == "fim:none"  # the tree itself: no dissect.*
    assert "service" not in by_name["svc-web"][0]["dissect"]  # a directory: no match, only convert's inode

    boom = by_name["svc-db/boom.json"][0]
    assert "_js_exception" in boom["tags"]
    assert boom["error"]["message"] == f"Error: boom ({workspace / 'filter.js'}:9)"
    assert boom["labels"]["script"] == "fim:db"  # what the script did before it threw stays

    metrics = agent.shutdown_metrics()
    assert metrics["enricher"]["processors"]["rate_limit"]["dropped"] == 1
    assert metrics["enricher"]["processors"]["script"]["exceptions"] == 1
    assert metrics["enricher"]["processors"]["dropped"] == 2  # the rate-limited and the cancelled one


def decode_time_based_id(value: str) -> tuple[int, int]:
    """(timestamp ms, sequence) of an id laid out as Elasticsearch's time-based ids."""
    raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
    assert len(raw) == 15
    ts = raw[14] | raw[12] << 8 | raw[2] << 16 | raw[3] << 24 | raw[4] << 32 | raw[5] << 40
    seq = raw[0] | raw[13] << 8 | raw[1] << 16
    return ts, seq


def test_metadata_id_is_the_bulk_id_and_never_in_the_document(workspace, start_agent):
    tree = workspace / "tree"
    make_tree(tree)
    write_config(workspace / "filter.js", SCRIPT, mode=0o644)
    with EsEndpoint() as es:
        output = (
            "output.elasticsearch:\n"
            f"  hosts: [{yaml_str(es.url)}]\n"
            "  backoff.init: 50ms\n"
            "  backoff.max: 200ms\n"
        )
        # After the processors above: decode_json_fields with document_id gives 3.json the id
        # "doc-3"; every other event keeps add_id's.
        extra = (
            "  - add_fields:\n"
            "      when.equals.file.name: 3.json\n"
            "      target: ''\n"
            "      fields: {idjson: '{\"key\": \"doc-3\"}'}\n"
            "  - decode_json_fields: {fields: [idjson], document_id: key}\n"
            "  - drop_fields: {fields: [idjson], ignore_missing: true}\n"
        )
        before = int(time.time() * 1000)
        config = write_config(workspace / "fimbeat.yml", base_config(workspace, tree, output) + extra)
        agent = start_agent(config)
        name = "logs-fim.event-default"
        wait_for(lambda: es.count(name) >= 6, message="the scan's documents in Elasticsearch", agent=agent)
        assert agent.stop() == 0
        docs = es.by_id(name)
    assert docs["doc-3"]["file"]["name"] == "3.json"
    others = {i: d for i, d in docs.items() if i != "doc-3"}
    assert others and all(len(i) == 20 for i in others)
    for value, doc in others.items():
        assert "@metadata" not in doc and "idjson" not in doc
        ts, _ = decode_time_based_id(value)
        # add_id's time is the event's event.created, in milliseconds.
        created = doc["event"]["created"]
        assert before - 60_000 <= ts <= int(time.time() * 1000), (value, created)


def test_a_script_that_does_not_load_fails_test_config_naming_file_and_line(workspace, fimbeat_bin):
    tree = workspace / "tree"
    tree.mkdir()
    (workspace / "bad.js").write_text("function process(event) {\n    event.Put('a', ;\n}\n")
    os.chmod(workspace / "bad.js", 0o644)
    config = write_config(
        workspace / "fimbeat.yml",
        f"path.config: {yaml_str(workspace)}\n"
        f"fimbeat.modules:\n- module: file_integrity\n  paths: [{yaml_str(tree)}]\n"
        f"output.file.path: {yaml_str(workspace / 'out')}\n"
        "processors:\n  - script: {lang: javascript, file: bad.js}\n",
    )
    result = run_cli(fimbeat_bin, "test", "config", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 1
    assert f"{workspace / 'bad.js'}:2" in result.stderr and "SyntaxError" in result.stderr

    # A script file in a watched tree, writable by its group: refused even with strict.perms off.
    inside = tree / "inside.js"
    inside.write_text("function process(event) {}\n")
    os.chmod(inside, 0o664)
    config = write_config(
        workspace / "fimbeat.yml",
        f"fimbeat.modules:\n- module: file_integrity\n  paths: [{yaml_str(tree)}]\n"
        f"output.file.path: {yaml_str(workspace / 'out')}\n"
        f"processors:\n  - script: {{lang: javascript, file: {yaml_str(inside)}}}\n",
    )
    result = run_cli(fimbeat_bin, "test", "config", "-c", config, "--path.home", workspace / "home",
                     "--strict.perms=false")
    assert result.returncode == 1
    assert "lies in a watched path" in result.stderr


def test_fields_a_user_adds_reach_documents_as_beats_puts_them(workspace, start_agent, fimbeat_bin):
    """fields_under_root, a fingerprint target and a decode_json_fields target of the user's own
    naming are not in fields.yml: they are sent as they are (Elasticsearch maps them dynamically).
    Only a name Elasticsearch refuses (a root name starting with "_") is dropped, and counted."""
    tree = workspace / "tree"
    tree.mkdir()
    (tree / "a.txt").write_text("a\n")
    out = workspace / "out"
    config = write_config(
        workspace / "fimbeat.yml",
        f"path.config: {yaml_str(workspace)}\n"
        "fimbeat.modules:\n"
        "- module: file_integrity\n"
        f"  paths: [{yaml_str(tree)}]\n"
        "  fields: {owner: {team: ops}}\n"
        "  fields_under_root: true\n"
        "fields: {site: par1, rack: 7}\n"
        "fields_under_root: true\n"
        f"output.file.path: {yaml_str(out)}\n"
        "processors:\n"
        "  - fingerprint: {fields: [file.path], target_field: sig}\n"
        f"  - add_fields: {{target: '', fields: {{raw: {yaml_str(MESSAGE)}, _private: x}}}}\n"
        "  - decode_json_fields: {fields: [raw], target: payload}\n"
        "  - drop_fields: {fields: [raw]}\n",
    )
    result = run_cli(fimbeat_bin, "test", "config", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 0, result.stderr
    agent = start_agent(config)
    wait_for(agent.scan_done, message="the first scan", agent=agent)
    wait_for(lambda: len(read_events(out, complete_only=True)) >= 2, message="the scan's documents", agent=agent)
    assert agent.stop() == 0
    metrics = agent.shutdown_metrics()
    docs = {d["file"]["path"]: d for d in read_events(out)}
    doc = docs[str(tree / "a.txt")]
    assert doc["site"] == "par1" and doc["rack"] == 7
    assert doc["owner"] == {"team": "ops"}
    assert len(doc["sig"]) == 64 and doc["sig"] != docs[str(tree)]["sig"]  # sha256 of each path
    assert doc["payload"] == {"team": "ops", "list": ["x", "y", "z"], "nested": {"level": "2"}}
    assert "_private" not in doc and "raw" not in doc and "fields" not in doc
    assert metrics["mapper"]["fields"]["undeclared"] >= 5 * 2  # five names, two documents at least
    assert metrics["mapper"]["fields"]["dropped"] >= 2
    assert "field 'payload' is not declared in fields.yml: sent as it is" in agent.stderr_text()
