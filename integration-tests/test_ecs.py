"""End to end: the ECS documents the real binary writes (output.file).

host.* and agent.* against this machine, cloud.* from a fake metadata service, processors and
their conditions from YAML, the schema guarantees (every leaf declared in fields/fields.yml with
its type, mapped by `fimbeat export template`), and each kind of change against the reference
sample event's field types.
"""

from __future__ import annotations

import ipaddress
import json
import os
import re
import socket
import subprocess
import time
from pathlib import Path
from typing import Any, Iterable, Optional

import pytest
import yaml

from cloud_metadata_server import EXPECTED_CLOUD, CloudMetadataServer
from conftest import REPO, Agent, read_events, run_cli, wait_for, write_config, yaml_str

FIELDS_YML = REPO / "fields" / "fields.yml"
SAMPLE_EVENT = REPO / "tests" / "data" / "fim_reference_event.json"  # the shape of Elastic's documented FIM event
QUIET = "100ms"

# The JSON types a value of each fields.yml type may have in a document.
STRING_TYPES = {"keyword", "constant_keyword", "wildcard", "match_only_text", "text", "ip", "date", "version"}
INTEGER_TYPES = {"long", "integer", "short", "byte", "unsigned_long"}
NUMBER_TYPES = {"double", "float", "half_float", "scaled_float"}


# ---------------------------------------------------------------------------------------------
# fields.yml and documents


class Schema:
    """fields/fields.yml read as Beats does: groups nest, dotted names nest, entries merge."""

    def __init__(self, path: Path):
        self.leaves: dict[str, dict] = {}  # "file.size" -> its declaration
        self.groups: set[str] = set()
        for entry in yaml.safe_load(path.read_text()):
            self._walk("", entry.get("fields") or [])

    def _walk(self, prefix: str, fields: list[dict]) -> None:
        for field in fields:
            parts = str(field["name"]).split(".")
            for i in range(1, len(parts)):  # "instance.id" declares the group "instance"
                self.groups.add(prefix + ".".join(parts[:i]))
            name = prefix + ".".join(parts)
            if field.get("type") == "group":
                self.groups.add(name)
                self._walk(name + ".", field.get("fields") or [])
            else:
                assert name not in self.leaves, f"{name} declared twice in fields.yml"
                self.leaves[name] = field
                if field.get("type") == "nested":  # an array of objects of the fields inside
                    self._walk(name + ".", field.get("fields") or [])

    def free_form_parent(self, name: str) -> Optional[dict]:
        """The `object`/`flattened` field that `name` lies under, if any."""
        parts = name.split(".")
        for i in range(len(parts) - 1, 0, -1):
            declared = self.leaves.get(".".join(parts[:i]))
            if declared and declared.get("type") in ("object", "flattened"):
                return declared
        return None


@pytest.fixture(scope="module")
def schema() -> Schema:
    return Schema(FIELDS_YML)


def leaves(obj: dict, prefix: str = "") -> Iterable[tuple[str, Any]]:
    """(dotted name, value) of every leaf; arrays are leaves."""
    for key, value in obj.items():
        name = prefix + key
        if isinstance(value, dict):
            yield from leaves(value, name + ".")
        else:
            yield name, value


def json_type_ok(value: Any, es_type: str) -> bool:
    values = value if isinstance(value, list) else [value]
    for v in values:
        if es_type in STRING_TYPES:
            ok = isinstance(v, str)
        elif es_type in INTEGER_TYPES:
            ok = isinstance(v, int) and not isinstance(v, bool)
        elif es_type in NUMBER_TYPES:
            ok = isinstance(v, (int, float)) and not isinstance(v, bool)
        elif es_type == "boolean":
            ok = isinstance(v, bool)
        elif es_type == "geo_point":  # the "lat, lon" string form (add_observer_metadata's geo.location)
            ok = isinstance(v, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*,\s*-?\d+(\.\d+)?\s*", v) is not None
        else:
            ok = False
        if not ok:
            return False
    return True


def check_document(doc: dict, schema: Schema, added: frozenset[str] = frozenset()) -> None:
    """The schema guarantees: @timestamp first, nested objects only, every leaf declared and typed,
    but for the leaves a test's processors added on purpose under undeclared names (`added`)."""
    where = f"document of {doc.get('file', {}).get('path')!r}"
    assert next(iter(doc)) == "@timestamp", f"@timestamp is not the first key of the {where}: {list(doc)}"

    def no_dotted_keys(obj: dict, prefix: str) -> None:
        for key, value in obj.items():
            assert "." not in key, f"dotted key {prefix + key!r} in the {where}"
            if isinstance(value, dict):
                no_dotted_keys(value, prefix + key + ".")

    no_dotted_keys(doc, "")
    for name, value in leaves(doc):
        if name not in added:
            check_leaf(name, value, schema, where)


def check_leaf(name: str, value: Any, schema: Schema, where: str) -> None:
    """One leaf of a document (an array of a nested field's objects included) against fields.yml."""
    declared = schema.leaves.get(name)
    if declared is None:
        parent = schema.free_form_parent(name)
        assert parent is not None, f"{name} (= {value!r}) in the {where} is not declared in fields.yml"
        es_type = parent.get("object_type", "keyword") if parent["type"] == "object" else None
    else:
        assert name not in schema.groups or declared, f"{name} is a group but holds {value!r}"
        es_type = declared["type"]
        if es_type in ("object", "flattened"):
            assert isinstance(value, (dict, list)), f"{name} should be an object, is {value!r}"
            return
        if es_type == "nested":
            assert isinstance(value, list) and all(isinstance(v, dict) for v in value), (
                f"{name} should be an array of objects, is {value!r}")
            for element in value:
                for inner, inner_value in leaves(element, name + "."):
                    check_leaf(inner, inner_value, schema, where)
            return
    if es_type is not None:
        assert json_type_ok(value, es_type), f"{name} = {value!r} in the {where} is not a JSON value of type {es_type}"


def test_document_checker_rejects_what_the_schema_forbids(schema):
    good = {"@timestamp": "2026-01-01T00:00:00.000Z", "file": {"path": "/x", "size": 1}, "fields": {"a": {"b": "c"}}}
    check_document(good, schema)
    bad = [
        {"file": {"path": "/x"}, "@timestamp": "2026-01-01T00:00:00.000Z"},  # @timestamp not first
        {**good, "file": {"path": "/x", "size": "1"}},                       # long as a string
        {**good, "file.path": "/x"},                                          # dotted key
        {**good, "undeclared": 1},                                            # not in fields.yml
        {**good, "host": {"containerized": "yes"}},                           # boolean as a string
        {**good, "fields": {"n": 3}},                                         # object_type keyword
    ]
    for doc in bad:
        with pytest.raises(AssertionError):
            check_document(doc, schema)


def check_all(docs: list[dict], schema: Schema, added: frozenset[str] = frozenset()) -> list[dict]:
    assert docs, "no documents"
    for doc in docs:
        check_document(doc, schema, added)
    return docs


def actions(doc: dict) -> list[str]:
    action = doc["event"]["action"]
    return action if isinstance(action, list) else [action]


def get(doc: dict, dotted: str, default: Any = None) -> Any:
    value: Any = doc
    for part in dotted.split("."):
        if not isinstance(value, dict) or part not in value:
            return default
        value = value[part]
    return value


# ---------------------------------------------------------------------------------------------
# running the agent


def config_text(paths: Iterable[Path], out: Path, top: str = "", module: str = "", extra_modules: str = "") -> str:
    return (f"{top}"
            "fimbeat.modules:\n- module: file_integrity\n"
            f"  paths: [{', '.join(yaml_str(p) for p in paths)}]\n"
            f"  recursive: true\n  hash_types: [sha1]\n  realtime.quiet_period: {QUIET}\n{module}"
            f"{extra_modules}"
            f"output.file:\n  path: {yaml_str(out)}\n")


class Run:
    """One agent writing to its own output directory."""

    def __init__(self, agent: Agent, out: Path):
        self.agent = agent
        self.out = out

    @classmethod
    def start(cls, workspace: Path, start_agent, name: str, text: str, out: Path, **kwargs: Any) -> "Run":
        return cls(start_agent(write_config(workspace / f"{name}.yml", text), name=name, **kwargs), out)

    def docs(self) -> list[dict]:
        return read_events(self.out, complete_only=True)

    def wait_doc(self, path: Path, action: Optional[str] = None, timeout: float = 20.0) -> dict:
        def found():
            return next((d for d in self.docs() if d["file"]["path"] == str(path)
                         and (action is None or action in actions(d))), None)

        return wait_for(found, timeout=timeout, message=f"a document of {path} ({action or 'any action'})",
                        agent=self.agent)

    def wait_count(self, count: int, timeout: float = 20.0) -> list[dict]:
        return wait_for(lambda: (lambda d: d if len(d) >= count else None)(self.docs()), timeout=timeout,
                        message=f"{count} documents", agent=self.agent)

    def wait_log(self, prefix: str, timeout: float = 20.0) -> str:
        return wait_for(lambda: next((m for m in self.agent.log_messages() if m.startswith(prefix)), None),
                        timeout=timeout, message=f"a log line starting {prefix!r}", agent=self.agent)

    def stop(self) -> dict:
        assert self.agent.stop() == 0, self.agent.describe()
        metrics = self.agent.shutdown_metrics()
        # Every change the baseline recorded was written or dropped by a processor: none in flight.
        assert metrics["baseline"]["changes"] + metrics["baseline"]["deleted"] == (metrics["output"]["events"]["acked"]
                                                  + metrics["enricher"]["processors"]["dropped"]), metrics
        return metrics


def scan_once(workspace: Path, start_agent, name: str, root: Path, top: str = "", module: str = "",
              home: Optional[Path] = None) -> tuple[list[dict], dict]:
    """Runs until the start-up scan's documents are all written; returns them and the metrics."""
    out = workspace / f"out-{name}"
    kwargs = {"home": home} if home is not None else {}
    run = Run.start(workspace, start_agent, name, config_text([root], out, top, module), out, **kwargs)
    wait_for(run.agent.scan_done, message="the start-up scan", agent=run.agent)
    expected = sum(1 for _ in root.rglob("*")) + 1
    run.wait_count(expected)
    metrics = run.stop()
    return run.docs(), metrics


def make_tree(root: Path) -> Path:
    root.mkdir()
    (root / "a.txt").write_bytes(b"alpha\n")
    (root / "sub").mkdir()
    (root / "sub" / "b.log").write_bytes(b"b" * 100)
    return root


def os_release() -> dict[str, str]:
    for candidate in ("/etc/os-release", "/usr/lib/os-release"):
        if os.path.exists(candidate):
            values = {}
            for line in Path(candidate).read_text().splitlines():
                m = re.match(r"^([A-Z_]+)=(.*)$", line.strip())
                if m:
                    raw = m.group(2)
                    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "\"'":
                        raw = raw[1:-1]
                    values[m.group(1)] = raw
            return values
    return {}


def machine_macs() -> set[str]:
    """MACs of the interfaces in /sys/class/net but loopback's, as ECS writes them."""
    macs = set()
    for iface in Path("/sys/class/net").iterdir():
        try:
            mac = (iface / "address").read_text().strip()
        except OSError:
            continue
        if iface.name != "lo" and re.fullmatch(r"[0-9a-f]{2}(:[0-9a-f]{2}){5}", mac) and mac != "00:00:00:00:00:00":
            macs.add(mac.upper().replace(":", "-"))
    return macs


def machine_addresses() -> Optional[set]:
    """Non-loopback IPv4 and IPv6 addresses from `ip -j addr`; None without iproute2."""
    try:
        listing = subprocess.run(["ip", "-j", "addr"], capture_output=True, text=True, timeout=10, check=True).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = {ipaddress.ip_address(a["local"]) for iface in json.loads(listing) for a in iface.get("addr_info", [])}
    return {a for a in found if not a.is_loopback}


# ---------------------------------------------------------------------------------------------
# 1. host.* and agent.*


def test_host_fields_agree_with_this_machine(workspace, start_agent, schema):
    root = make_tree(workspace / "tree")
    docs, _ = scan_once(workspace, start_agent, "host", root)
    check_all(docs, schema)
    uname = os.uname()
    release = os_release()
    machine_id = Path("/etc/machine-id").read_text().strip() if Path("/etc/machine-id").exists() else None
    for doc in docs:
        host = doc["host"]
        assert host["hostname"] == uname.nodename
        assert host["name"] == uname.nodename.lower()
        assert host["architecture"] == uname.machine
        assert host["os"]["kernel"] == uname.release
        assert host["os"]["type"] == "linux"
        assert host["os"]["platform"] == release["ID"]
        assert host["os"]["name"] == release["NAME"]
        if "VERSION" in release:
            assert host["os"]["version"] == release["VERSION"]
        if release.get("VERSION_CODENAME"):
            assert host["os"]["codename"] == release["VERSION_CODENAME"]
        if machine_id:
            assert host["id"] == machine_id
        # Every non-loopback address and interface MAC of this machine, and nothing else.
        assert all(re.fullmatch(r"[0-9A-F]{2}(-[0-9A-F]{2}){5}", mac) for mac in host["mac"]), host["mac"]
        assert set(host["mac"]) == machine_macs()
        addresses = machine_addresses()
        if addresses is not None:
            assert {ipaddress.ip_address(ip) for ip in host["ip"]} == addresses, host["ip"]
        assert host["ip"], "this machine has a non-loopback address"
    assert len({json.dumps(d["host"], sort_keys=True) for d in docs}) == 1, "host.* differs between documents"


def test_host_ip_and_mac_absent_without_netinfo(workspace, start_agent, schema):
    root = make_tree(workspace / "tree")
    top = "processors:\n  - add_host_metadata:\n      netinfo.enabled: false\n"
    docs, _ = scan_once(workspace, start_agent, "nonet", root, top=top)
    check_all(docs, schema)
    for doc in docs:
        assert "ip" not in doc["host"] and "mac" not in doc["host"], doc["host"]
        assert doc["host"]["hostname"] == os.uname().nodename  # the rest of host.* is still there


def fimbeat_version(fimbeat_bin: Path) -> str:
    result = run_cli(fimbeat_bin, "version")
    assert result.returncode == 0, result.stderr
    m = re.search(r"fimbeat version (\S+)", result.stdout)
    assert m, f"unexpected `fimbeat version` output: {result.stdout!r}"
    return m.group(1)


def test_agent_fields_identity_across_runs(workspace, start_agent, schema, fimbeat_bin):
    root = make_tree(workspace / "tree")
    version = fimbeat_version(fimbeat_bin)
    other_home = workspace / "other-home"
    other_home.mkdir()
    runs = {}
    for name, home, top in (("first", None, "name: fim-e2e-agent\n"), ("second", None, ""),
                            ("elsewhere", other_home, "")):
        # A file new to each run: a run with the same home reports only what changed since.
        marker = root / f"{name}.txt"
        marker.write_bytes(name.encode())
        out = workspace / f"out-{name}"
        run = Run.start(workspace, start_agent, name, config_text([root], out, top), out,
                        **({"home": home} if home else {}))
        wait_for(run.agent.scan_done, message="the start-up scan", agent=run.agent)
        run.wait_doc(marker)
        run.stop()
        docs = check_all(run.docs(), schema)
        agents = {json.dumps(d["agent"], sort_keys=True) for d in docs}
        assert len(agents) == 1, f"agent.* differs between documents of one run: {agents}"
        runs[name] = docs[0]["agent"]
    for agent in runs.values():
        assert agent["type"] == "fimbeat"
        assert agent["version"] == version
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}", agent["id"]), agent
    assert runs["first"]["name"] == "fim-e2e-agent"
    assert runs["second"]["name"] == os.uname().nodename  # no `name:`: the host name
    assert runs["first"]["id"] == runs["second"]["id"], "agent.id changed between runs with the same home"
    assert runs["elsewhere"]["id"] != runs["first"]["id"], "another path.home must have another agent.id"
    ephemeral = {r["ephemeral_id"] for r in runs.values()}
    assert len(ephemeral) == 3, f"agent.ephemeral_id must be new at every start: {runs}"
    meta = json.loads((workspace / "home" / "data" / "meta.json").read_text())
    assert meta["uuid"] == runs["first"]["id"]


# ---------------------------------------------------------------------------------------------
# 2. cloud.*


def cloud_config(root: Path, out: Path, host: str, timeout: str) -> str:
    # The enricher's debug lines say why each provider failed, should a test fail.
    top = ("logging.level: debug\nlogging.selectors: [enricher]\n"
           f"processors:\n  - add_cloud_metadata:\n      host: {yaml_str(host)}\n      timeout: {timeout}\n")
    return config_text([root], out, top=top)


@pytest.mark.parametrize("provider", ["aws", "gcp", "azure", "digitalocean", "openstack", "hetzner"])
def test_cloud_fields_from_the_metadata_service(workspace, start_agent, schema, provider):
    root = make_tree(workspace / "tree")
    out = workspace / "out"
    with CloudMetadataServer(provider) as server:
        run = Run.start(workspace, start_agent, provider, cloud_config(root, out, server.host, "10s"), out)
        said = run.wait_log("add_cloud_metadata: provider")
        assert said.startswith(f"add_cloud_metadata: provider {provider} answered"), said
        wait_for(run.agent.scan_done, message="the start-up scan", agent=run.agent)
        later = root / "after-probe.txt"
        later.write_bytes(b"cloud\n")
        doc = run.wait_doc(later, "created")
        requests = server.requests
    metrics = run.stop()
    check_all(run.docs(), schema)
    assert doc["cloud"] == EXPECTED_CLOUD[provider]
    assert metrics["enricher"]["cloud"]["found"] == 1
    for d in run.docs():  # a document either has the whole cloud.* or none (sent before the answer)
        assert d.get("cloud") in (None, EXPECTED_CLOUD[provider]), d.get("cloud")
    if provider == "aws":  # IMDSv2: a session token first, then the identity document with it
        assert ("PUT", "/latest/api/token") in requests, requests
        assert ("GET", "/latest/dynamic/instance-identity/document") in requests, requests
    elif provider == "gcp":
        assert any(path.startswith("/computeMetadata/v1/") for _, path in requests), requests


def free_port() -> int:
    """A port nothing listens on (bound, read, closed)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_cloud_unanswered_probe_does_not_delay_events(workspace, start_agent, schema):
    root = make_tree(workspace / "tree")
    out = workspace / "out"
    timeout = 5.0
    with CloudMetadataServer("blackhole") as hole:
        run = Run.start(workspace, start_agent, "blackhole", cloud_config(root, out, hole.host, f"{timeout:g}s"), out)
        scanned = 4  # tree, a.txt, sub, sub/b.log
        first = run.wait_count(scanned, timeout=timeout)
        first_after = time.time() - run.agent.started_at
        # The probe is still waiting on the silent endpoint when the scan's documents are out.
        assert not any(m.startswith("add_cloud_metadata:") for m in run.agent.log_messages()), run.agent.stderr_text()
        assert first_after < timeout, f"scan documents {first_after:.2f} s after start, probe timeout {timeout} s"
        assert all("initial_scan" in actions(d) for d in first)
        said = run.wait_log("add_cloud_metadata:", timeout=timeout + 10)
        assert said.startswith("add_cloud_metadata: no provider answered"), said
        later = root / "after-timeout.txt"
        later.write_bytes(b"x")
        run.wait_doc(later, "created")
    metrics = run.stop()
    docs = check_all(run.docs(), schema)
    assert first and all("cloud" not in d for d in docs)
    assert metrics["enricher"]["cloud"]["found"] == 0


def test_cloud_refused_endpoint_gives_no_cloud_fields(workspace, start_agent, schema):
    root = make_tree(workspace / "tree")
    out = workspace / "out"
    run = Run.start(workspace, start_agent, "refused", cloud_config(root, out, f"127.0.0.1:{free_port()}", "2s"), out)
    said = run.wait_log("add_cloud_metadata:")
    assert said.startswith("add_cloud_metadata: no provider answered"), said
    wait_for(run.agent.scan_done, message="the start-up scan", agent=run.agent)
    later = root / "after-refusal.txt"
    later.write_bytes(b"x")
    run.wait_doc(later, "created")
    metrics = run.stop()
    docs = check_all(run.docs(), schema)
    assert all("cloud" not in d for d in docs)
    assert metrics["enricher"]["cloud"]["found"] == 0


# ---------------------------------------------------------------------------------------------
# 3. processors


PROCESSORS_TOP = r"""
tags: [global-tag]
processors:
  - add_fields:
      fields: {team: ops, owner.name: alice}
  - add_fields:
      target: error
      fields: {type: e2e-marker}
  - add_tags:
      tags: [e2e, from-processor]
  - drop_fields:
      fields: ['/^file\.hash\./', file.inode]
  - rename:
      ignore_missing: true
      fields: [{from: file.mime_type, to: message}]
  - drop_event:
      when:
        regexp: {file.path: '\.tmp$'}
  - drop_event:
      when:
        range: {file.size: {gte: 4096}}
  - drop_event:
      when:
        and:
          - equals: {event.action: initial_scan}
          - contains: {file.path: eq-drop}
  - drop_event:
      when:
        and:
          - contains: {file.path: /combo}
          - not: {equals: {file.type: dir}}
  - drop_event:
      when:
        or:
          - contains: {file.path: or-a}
          - contains: {file.path: or-b}
  - drop_event:
      when:
        and:
          - network: {host.ip: ['0.0.0.0/0', '::/0']}
          - contains: {file.path: net-drop}
  - drop_event:
      when:
        and:
          - network: {host.ip: '198.51.100.0/24'}
          - contains: {file.path: net-keep}
"""

PROCESSORS_MODULE2 = """- module: file_integrity
  paths: [{root}]
  hash_types: [sha1]
  tags: [module-two]
  processors:
    - add_fields:
        fields: {{module: two}}
    - drop_event:
        when:
          contains: {{file.path: m2-drop}}
"""


def test_processors_from_yaml(workspace, start_agent, schema):
    root = workspace / "one"
    root.mkdir()
    files = {
        "keep.txt": 10, "big.bin": 5000, "scratch.tmp": 3, "eq-drop.txt": 1, "or-a.txt": 1, "or-b.txt": 1,
        "or-c.txt": 1, "net-drop.txt": 1, "net-keep.txt": 1,
    }
    for name, size in files.items():
        (root / name).write_bytes(b"p" * size)
    (root / "combo").mkdir()
    (root / "combo" / "inner.txt").write_bytes(b"c")
    two = workspace / "two"
    two.mkdir()
    (two / "m2-keep.txt").write_bytes(b"k")
    (two / "m2-drop.txt").write_bytes(b"d")

    out = workspace / "out"
    text = config_text([root], out, top=PROCESSORS_TOP.lstrip("\n"),
                       extra_modules=PROCESSORS_MODULE2.format(root=yaml_str(two)))
    run = Run.start(workspace, start_agent, "procs", text, out)
    wait_for(run.agent.scan_done, message="the start-up scan", agent=run.agent)
    kept = [root, root / "keep.txt", root / "or-c.txt", root / "net-keep.txt", root / "combo", two, two / "m2-keep.txt"]
    dropped = [root / n for n in ("big.bin", "scratch.tmp", "eq-drop.txt", "or-a.txt", "or-b.txt", "net-drop.txt")]
    dropped += [root / "combo" / "inner.txt", two / "m2-drop.txt"]
    for path in kept:
        run.wait_doc(path, "initial_scan")
    # equals on event.action: the same name created later is `created`, not `initial_scan`: kept.
    live = root / "eq-drop-live.txt"
    live.write_bytes(b"l")
    run.wait_doc(live, "created")
    metrics = run.stop()

    docs = check_all(run.docs(), schema)
    by_path = {d["file"]["path"]: d for d in docs}
    assert set(by_path) == {str(p) for p in kept + [live]}, sorted(by_path)
    assert not {str(p) for p in dropped} & set(by_path)
    assert metrics["enricher"]["processors"]["dropped"] == len(dropped), metrics["enricher"]
    assert metrics["enricher"]["processors"]["failures"] == 0

    host_ips = [ipaddress.ip_address(ip) for ip in docs[0]["host"]["ip"]]
    assert host_ips, "the network conditions need host.ip"
    assert not any(ip in ipaddress.ip_network("198.51.100.0/24") for ip in host_ips)

    for doc in docs:
        path = doc["file"]["path"]
        in_two = path.startswith(str(two))
        assert doc["fields"]["team"] == "ops" and doc["fields"]["owner"] == {"name": "alice"}, doc["fields"]
        assert doc["error"] == {"type": "e2e-marker"}
        assert "global-tag" in doc["tags"] and "e2e" in doc["tags"] and "from-processor" in doc["tags"], doc["tags"]
        assert ("module-two" in doc["tags"]) == in_two, doc["tags"]
        assert (doc["fields"].get("module") == "two") == in_two, doc["fields"]
        assert "inode" not in doc["file"] and "hash" not in doc["file"], doc["file"]
        assert "mime_type" not in doc["file"], doc["file"]  # renamed to message
        if doc["file"]["type"] == "file":
            assert re.fullmatch(r"[a-z]+/[-+.\w]+", doc["message"]), doc.get("message")
        else:
            assert "message" not in doc  # nothing to rename, ignore_missing: not a failure
        assert doc["file"]["uid"] == str(os.stat(path).st_uid)  # only what was named is dropped


def bad_config_cases():
    module = "fimbeat.modules:\n- module: file_integrity\n  paths: [/tmp]\n"
    return [
        ("unknown", f"{module}processors:\n  - add_tagz: {{tags: [x]}}  # HERE\n", "processors.0.add_tagz"),
        ("regex", f"{module}processors:\n  - drop_fields:\n      fields: ['/[oops/']  # HERE\n",
         "processors.0.drop_fields.fields.0"),
        ("range", f"{module}processors:\n  - drop_event:\n      when:\n        range:\n"
                  f"          file.size: {{gt: big}}  # HERE\n", "processors.0.drop_event.when.range.file.size.gt"),
        ("cidr", f"{module}processors:\n  - drop_event:\n      when:\n        network:\n"
                 f"          host.ip: 300.1.2.3/8  # HERE\n", "processors.0.drop_event.when.network.host.ip"),
        ("condition", f"{module}processors:\n  - drop_event:\n      when:\n        equalz: {{event.action: deleted}}  # HERE\n",
         "processors.0.drop_event.when.equalz"),
        ("rename", "fimbeat.modules:\n- module: file_integrity\n  paths: [/tmp]\n  processors:\n"
                   "    - rename:\n        fields:\n          - {from: file.path}  # HERE\n",
         "fimbeat.modules.0.processors.0.rename.fields.0.to"),
        ("add_fields", f"{module}processors:\n  - add_fields:  # HERE\n      target: project\n",
         "processors.0.add_fields.fields"),
    ]


def test_processor_config_of_these_tests_is_valid(workspace, fimbeat_bin):
    """The configs above are accepted as a whole: each bad case fails for its one mistake."""
    text = config_text([workspace], workspace / "out", top=PROCESSORS_TOP.lstrip("\n"),
                       extra_modules=PROCESSORS_MODULE2.format(root=yaml_str(workspace)))
    config = write_config(workspace / "good.yml", text)
    result = run_cli(fimbeat_bin, "test", "config", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("case", bad_config_cases(), ids=lambda c: c[0])
def test_bad_processor_config_names_key_and_line(workspace, fimbeat_bin, case):
    _, text, key = case
    line = next(i for i, l in enumerate(text.splitlines(), start=1) if "# HERE" in l)
    config = write_config(workspace / "bad.yml", text)
    result = run_cli(fimbeat_bin, "test", "config", "-c", config, "--path.home", workspace / "home")
    said = result.stdout + result.stderr
    assert result.returncode != 0, said
    assert re.search(rf"bad\.yml:{line}: {re.escape(key)}: ", said), f"expected bad.yml:{line}: {key}: in\n{said}"


# ---------------------------------------------------------------------------------------------
# 4 and 5. every kind of change: schema, undeclared fields, template, reference sample


@pytest.fixture(scope="module", params=["inotify", "fanotify"])
def change_run(request, tmp_path_factory, fimbeat_bin) -> dict:
    """One run per realtime backend producing initial_scan, created, updated, attributes_modified and deleted documents,
    with processors adding an undeclared root field and an undeclared field inside file.*."""
    backend = request.param
    if backend == "fanotify" and os.geteuid() != 0:
        pytest.skip("the fanotify backend needs root")
    workspace = tmp_path_factory.mktemp(f"changes-{backend}")
    (workspace / "home").mkdir()
    root = workspace / "tree"
    root.mkdir()
    (root / "scanned.txt").write_bytes(b"at start\n")
    (root / "update.txt").write_bytes(b"before\n")
    (root / "chmod.txt").write_bytes(b"mode\n")
    (root / "delete.txt").write_bytes(b"bye\n")
    out = workspace / "out"
    top = ("tags: [fim-event]\nprocessors:\n"
           "  - add_fields: {target: '', fields: {undeclared_root: x}}\n"
           "  - add_fields: {target: file, fields: {colour: blue}}\n"
           "  - add_fields: {fields: {kept: yes}}\n")
    config = write_config(workspace / "changes.yml", config_text([root], out, top=top, module=f"  backend: {backend}\n"))
    agent = Agent(fimbeat_bin, workspace, config, name="changes").start()
    try:
        run = Run(agent, out)
        wait_for(agent.scan_done, message="the start-up scan", agent=agent)
        run.wait_doc(root / "delete.txt", "initial_scan")
        kinds = {"initial_scan": run.wait_doc(root / "scanned.txt", "initial_scan")}
        (root / "created.txt").write_bytes(b"new\n")
        kinds["created"] = run.wait_doc(root / "created.txt", "created")
        with open(root / "update.txt", "ab") as f:
            f.write(b"after\n")
        kinds["updated"] = run.wait_doc(root / "update.txt", "updated")
        os.chmod(root / "chmod.txt", 0o600)
        kinds["attributes_modified"] = run.wait_doc(root / "chmod.txt", "attributes_modified")
        os.unlink(root / "delete.txt")
        kinds["deleted"] = run.wait_doc(root / "delete.txt", "deleted")
        metrics = run.stop()
    finally:
        agent.kill()
    return {"kinds": kinds, "docs": run.docs(), "metrics": metrics, "config": config, "workspace": workspace}


USER_ADDED = frozenset({"undeclared_root", "file.colour"})  # by change_run's add_fields


def test_every_document_follows_the_schema(change_run, schema):
    # Fields added on purpose under names fields.yml does not declare reach the document as Beats
    # puts them, for Elasticsearch's dynamic mapping; they are counted.
    docs = check_all(change_run["docs"], schema, added=USER_ADDED)
    for doc in docs:
        assert doc["undeclared_root"] == "x" and doc["file"]["colour"] == "blue", doc
        assert doc["fields"]["kept"] == "yes"  # fields.* is free-form: kept
    undeclared = change_run["metrics"]["mapper"]["fields"]["undeclared"]
    assert undeclared == 2 * len(docs), change_run["metrics"]["mapper"]


def test_export_template_maps_every_document_field(change_run, schema, fimbeat_bin):
    result = run_cli(fimbeat_bin, "export", "template", "-c", change_run["config"],
                     "--path.home", change_run["workspace"] / "home")
    assert result.returncode == 0, result.stderr
    mappings = json.loads(result.stdout)["template"]["mappings"]
    dynamic = [next(iter(t.values())) for t in mappings.get("dynamic_templates", [])]
    names = {name for doc in change_run["docs"] for name, _ in leaves(doc)}
    assert {"file.path", "host.os.kernel", "agent.id", "fields.kept"} <= names
    strings = [t for t in dynamic if t.get("match_mapping_type") == "string" and "path_match" not in t
               and "match" not in t]
    assert strings and strings[0]["mapping"]["type"] == "keyword", dynamic  # Beats' strings_as_keyword
    for name in sorted(names):
        if name in USER_ADDED:
            continue  # strings both: the root dynamic template maps them as keyword
        properties, mapping = mappings["properties"], None
        parts = name.split(".")
        for i, part in enumerate(parts):
            mapping = properties.get(part) if properties is not None else None
            assert mapping is not None or i > 0, f"{name}: no mapping for {part!r}"
            if mapping is None or mapping.get("type") in ("object", "flattened"):
                break
            properties = mapping.get("properties")
        if mapping is not None and "properties" not in mapping and mapping.get("type") not in ("object", "flattened"):
            assert mapping.get("type") == schema.leaves[name]["type"], f"{name}: mapped as {mapping}"
            continue
        # Under an object field: a dynamic template whose path_match covers the name maps it.
        assert any(re.fullmatch(re.escape(t["path_match"]).replace(r"\*", ".*"), name)
                   for t in dynamic if "path_match" in t), f"{name} is not mapped by the template"


def json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array of " + ("/".join(sorted({json_kind(v) for v in value})) or "nothing")
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, (int, float)):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, dict):
        return "object"
    return "null"


# Fields of the sample fimbeat fills in every document of a change to an existing file (a deleted
# file's document keeps only what identifies it).
FILE_STATE = ["file.ctime", "file.gid", "file.group", "file.hash.sha1", "file.inode", "file.mode", "file.mtime",
              "file.owner", "file.size", "file.uid"]


@pytest.mark.parametrize("kind", ["initial_scan", "created", "updated", "attributes_modified", "deleted"])
def test_documents_match_reference_sample_types(change_run, schema, kind):
    sample = json.loads(SAMPLE_EVENT.read_text())
    doc = change_run["kinds"][kind]
    check_document(doc, schema, USER_ADDED)
    assert actions(doc) == [kind] or kind in actions(doc), actions(doc)
    # The sample's fields fimbeat has no way to know: Fleet's and the ingest pipeline's. fimbeat's
    # template maps elastic_agent.* and event.ingested (the fim package does) but writes elastic_agent.* only when
    # managed by Fleet (test_fleet.py checks them there).
    set_by_fleet = {"elastic_agent.id", "elastic_agent.snapshot", "elastic_agent.version", "event.agent_id_status",
                    "event.ingested"}
    knowable = {name: value for name, value in leaves(sample) if name in schema.leaves and name not in set_by_fleet}
    assert set(dict(leaves(sample))) - set(knowable) <= set_by_fleet, set(dict(leaves(sample))) - set(knowable)
    must_have = set(knowable) - (set(FILE_STATE) if kind == "deleted" else set())
    ours = dict(leaves(doc))
    missing = sorted(must_have - set(ours))
    assert not missing, f"the {kind} document lacks {missing}"
    for name, value in knowable.items():
        if name in ours:
            assert json_kind(ours[name]) == json_kind(value), (
                f"{name}: {json_kind(ours[name])} in fimbeat's {kind} document, {json_kind(value)} in the sample")
