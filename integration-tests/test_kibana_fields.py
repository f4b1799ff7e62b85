"""Every field a shipped Kibana object queries, filters, aggregates or shows is declared in
fields/fields.yml, mapped by `fimbeat export template` as aggregatable where it is aggregated, and
present in the documents fimbeat produces for the changes the panel counts.

The objects are read, not listed by hand: each Lens column, KQL query and filter, control, and
saved search column is a use of a field. The agent then runs on a tree where files are created,
updated, deleted, moved, have their attributes changed, gain setuid/setgid, or cannot be read,
and each panel's KQL query is evaluated on the documents: the panel must count some documents,
and those documents must carry the field (for a panel that names actions, a document of each
action must). Process and user fields come only from the fanotify backend: they are checked in a
second run with it, skipped where fanotify cannot run."""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterator

import pytest
import yaml

from conftest import REPO, read_events, run_cli, wait_for, write_config, yaml_str
from test_baseline import unprivileged_wrapper
from test_fanotify import fanotify_usable

KIBANA_DIR = REPO / "kibana"
CHANGE_KINDS = ("created", "updated", "deleted", "moved", "attributes_modified")
AGGREGATABLE = {"keyword", "constant_keyword", "long", "integer", "short", "byte", "double", "float", "date", "ip", "boolean"}
LIVE_PROCESS_FIELDS = re.compile(r"^(process|user|group|container)\.")
# Panels about installed packages and approvals count documents only a real package or an approval
# gives: test_package_verification.py checks them on those.
PACKAGE_PANELS = ("search fimbeat-unexplained-changes",)


# --------------------------------------------------------------------------- what the objects use


@dataclass
class Use:
    field: str
    how: str  # aggregated, filtered, shown
    where: str  # "lens fimbeat-lens-moves"
    query: str = ""  # the panel's KQL (what it counts)
    kinds: tuple[str, ...] = ()  # actions the panel's query names


@dataclass
class Panel:
    where: str
    query: str
    uses: list[Use] = field(default_factory=list)


def kql_fields(query: str) -> list[str]:
    return re.findall(r"([A-Za-z_@][\w.@]*)\s*:", query)


def kql_actions(query: str) -> tuple[str, ...]:
    """The actions a query counts (an action after `not` is one it leaves out)."""
    return tuple(re.findall(r'(?<!not )event\.action\s*:\s*"([a-z_]+)"', query))


def lens_uses(obj: dict, where: str) -> list[Use]:
    state = obj["attributes"]["state"]
    uses = []
    for layer in state["datasourceStates"]["formBased"]["layers"].values():
        for column in layer["columns"].values():
            if column["sourceField"] != "___records___":
                uses.append(Use(column["sourceField"], "aggregated", where))
            query = column.get("filter", {}).get("query", "")
            uses += [Use(f, "filtered", where, query, kql_actions(query)) for f in kql_fields(query)]
    uses += [Use(f["meta"]["key"], "filtered", where) for f in state["filters"]]
    return uses


def object_panels() -> Iterator[Panel]:
    for path in sorted(KIBANA_DIR.glob("*/*.json")):
        obj = json.loads(path.read_text())
        where = f"{obj['type']} {obj['id']}"
        attributes = obj["attributes"]
        if obj["type"] == "lens":
            query = attributes["state"]["query"]["query"]
            uses = lens_uses(obj, where) + [Use(f, "filtered", where) for f in kql_fields(query)]
        elif obj["type"] == "search":
            query = attributes["kibanaSavedObjectMeta"]["searchSourceJSON"]["query"]["query"]
            uses = [Use(f, "shown", where) for f in attributes["columns"]]
            uses += [Use(f, "aggregated", where) for f, _ in attributes["sort"]]  # sorting needs doc values
            uses += [Use(f, "filtered", where) for f in kql_fields(query)]
        elif obj["type"] == "dashboard":
            query = attributes["kibanaSavedObjectMeta"]["searchSourceJSON"]["query"]["query"]
            controls = attributes["controlGroupInput"]["panelsJSON"].values()
            uses = [Use(c["explicitInput"]["fieldName"], "aggregated", where) for c in controls]
        else:
            query, uses = "", [Use(attributes["timeFieldName"], "aggregated", where)]
        for use in uses:
            use.query = use.query or query
            use.kinds = use.kinds or kql_actions(use.query)
        yield Panel(where, query, uses)


def all_uses() -> list[Use]:
    return [use for panel in object_panels() for use in panel.uses]


# --------------------------------------------------------------------------- KQL on documents


def value_of(doc: dict, dotted: str) -> Any:
    """The value at a dotted path, or None; arrays of objects are not needed by the shipped objects."""
    node: Any = doc
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return None
        node = node[part]
    return node


class Kql:
    """The part of KQL the shipped objects use: field : * | "v" | true | ("a" or "b"), and, or, not, ()."""

    TOKEN = re.compile(r'\s*(\(|\)|"[^"]*"|[^\s():"]+|:)')

    def __init__(self, query: str):
        self.tokens = [t for t in self.TOKEN.findall(query)]
        self.at = 0

    def matches(self, doc: dict) -> bool:
        if not self.tokens:
            return True
        self.at = 0
        result = self._or(doc)
        assert self.at == len(self.tokens), f"KQL not fully read: {self.tokens}"
        return result

    def _peek(self) -> str:
        return self.tokens[self.at] if self.at < len(self.tokens) else ""

    def _take(self) -> str:
        self.at += 1
        return self.tokens[self.at - 1]

    def _or(self, doc: dict) -> bool:
        result = self._and(doc)
        while self._peek() == "or":
            self._take()
            result = self._and(doc) or result
        return result

    def _and(self, doc: dict) -> bool:
        result = self._term(doc)
        while self._peek() == "and":
            self._take()
            result = self._term(doc) and result
        return result

    def _term(self, doc: dict) -> bool:
        if self._peek() == "not":
            self._take()
            return not self._term(doc)
        if self._peek() == "(":
            self._take()
            result = self._or(doc)
            assert self._take() == ")"
            return result
        name = self._take()
        assert self._take() == ":", f"expected ':' after {name}"
        return self._values(value_of(doc, name))

    def _values(self, value: Any) -> bool:
        values = value if isinstance(value, list) else [value]
        if self._peek() == "(":
            self._take()
            wanted = [self._take().strip('"')]
            while self._peek() == "or":
                self._take()
                wanted.append(self._take().strip('"'))
            assert self._take() == ")"
            return any(str(v) in wanted for v in values if v is not None)
        token = self._take()
        if token == "*":
            return value is not None
        if token in ("true", "false"):
            return any(v is (token == "true") for v in values)
        return any(str(v) == token.strip('"') for v in values if v is not None)


# --------------------------------------------------------------------------- fields.yml and the template


def declared_fields() -> dict[str, str]:
    declared: dict[str, str] = {}

    def walk(entries: list, prefix: str) -> None:
        for entry in entries:
            name = prefix + entry["name"]
            if entry.get("type") == "group":
                walk(entry.get("fields", []), name + ".")
                continue
            declared[name] = entry.get("type", "keyword")
            for multi in entry.get("multi_fields", []):
                declared[f"{name}.{multi['name']}"] = multi["type"]

    for section in yaml.safe_load((REPO / "fields" / "fields.yml").read_text()):
        walk(section.get("fields", []), "")
    return declared


def template_types(fimbeat_bin: Path, workspace: Path) -> dict[str, str]:
    cfg = write_config(workspace / "template.yml", f"fimbeat.modules:\n  - module: file_integrity\n    paths: [/etc]\n"
                                                   f"output.file:\n  path: {yaml_str(workspace)}\n")
    result = run_cli(fimbeat_bin, "export", "template", "-c", cfg)
    assert result.returncode == 0, result.stderr
    types: dict[str, str] = {}

    def walk(properties: dict, prefix: str) -> None:
        for name, mapping in properties.items():
            if "type" in mapping:
                types[prefix + name] = mapping["type"]
            walk(mapping.get("properties", {}), f"{prefix}{name}.")
            walk(mapping.get("fields", {}), f"{prefix}{name}.")

    walk(json.loads(result.stdout)["template"]["mappings"]["properties"], "")
    return types


def test_the_objects_use_fields_and_the_reader_finds_them():
    uses = all_uses()
    fields = {u.field for u in uses}
    for expected in ("file.path", "event.action", "file_integrity.changed_attributes", "file_integrity.previous.path",
                     "file.setuid", "error.message", "process.executable", "user.name", "host.name", "@timestamp"):
        assert expected in fields, f"{expected} is used by the shipped objects but was not found: {sorted(fields)}"
    moves = [u for u in uses if u.where == "lens fimbeat-lens-moves"]
    assert moves and all(u.kinds == ("moved",) for u in moves)


def test_every_used_field_is_declared_and_aggregatable_where_aggregated(fimbeat_bin, workspace):
    declared = declared_fields()
    mapped = template_types(fimbeat_bin, workspace)
    for use in all_uses():
        assert use.field in declared, f"{use.where} {use.how} {use.field}, which fields/fields.yml does not declare"
        if use.how == "aggregated":
            assert mapped.get(use.field) in AGGREGATABLE, (
                f"{use.where} aggregates {use.field}, mapped as {mapped.get(use.field)} by `fimbeat export template`")


# --------------------------------------------------------------------------- documents fimbeat produces


def run_changes(fimbeat_bin: Path, workspace: Path, start_agent, backend: str, unprivileged: bool) -> list[dict]:
    root = workspace / "tree"
    root.mkdir()
    for name in ("updated.txt", "deleted.txt", "chmod.txt", "moved-from.txt", "gains-setuid"):
        (root / name).write_text(name)
    (root / "locked.txt").write_text("never readable")
    os.chmod(root / "locked.txt", 0)
    # Without the DAC capabilities even a root agent cannot read it: the document has error.message.
    wrapper = unprivileged_wrapper(root / "locked.txt") if unprivileged else []
    out = workspace / "events"
    cfg = write_config(workspace / "fimbeat.yml", f"""\
fimbeat.modules:
  - module: file_integrity
    paths: [{yaml_str(root)}]
    recursive: true
    backend: {backend}
output.file:
  path: {yaml_str(out)}
""")
    agent = start_agent(cfg, wrapper=wrapper)
    wait_for(agent.scan_done, message="the first scan", agent=agent)
    (root / "created.txt").write_text("new")
    (root / "updated.txt").write_text("new content, longer")
    (root / "deleted.txt").unlink()
    os.chmod(root / "chmod.txt", 0o600)
    os.chmod(root / "gains-setuid", 0o4755)
    os.rename(root / "moved-from.txt", root / "moved-to.txt")
    staging = workspace / "staging"  # made outside the watched tree and moved in: one `created` event with the bit
    staging.mkdir()
    for name, mode in (("suid-tool", 0o4755), ("sgid-tool", 0o2755)):
        (staging / name).write_text("#!/bin/sh\n")
        os.chmod(staging / name, mode)
        os.rename(staging / name, root / name)

    def kinds() -> set[str]:
        return {a for d in read_events(out, complete_only=True) for a in d["event"]["action"]}

    wait_for(lambda: set(CHANGE_KINDS) <= kinds(), timeout=20,
             message=f"documents of every kind {CHANGE_KINDS} (seen: {sorted(kinds())})", agent=agent)
    wait_for(lambda: any(value_of(d, "file.setuid") and "created" in d["event"]["action"]
                         for d in read_events(out, complete_only=True)) and
             any(value_of(d, "file.setgid") for d in read_events(out, complete_only=True)) and
             any("setuid" in (value_of(d, "file_integrity.changed_attributes") or [])
                 for d in read_events(out, complete_only=True)),
             timeout=20, message="the setuid and setgid files, and the file that gained setuid", agent=agent)
    agent.stop()
    os.chmod(root / "locked.txt", 0o644)
    return read_events(out)


def check_uses(uses: list[Use], docs: list[dict]) -> list[str]:
    """Each panel counts documents of every action its query names; a field it shows or aggregates
    is in them (in one of each named action), a field it filters on is in one of them."""
    problems = []
    for use in uses:
        counted = [d for d in docs if Kql(use.query).matches(d)]
        with_field = [d for d in counted if value_of(d, use.field) is not None]
        if not with_field:
            problems.append(f"{use.where}: no document it counts ({use.query or 'all'}) has {use.field}")
        for kind in use.kinds:
            of_kind = with_field if use.how != "filtered" else counted
            if not any(kind in d["event"]["action"] for d in of_kind):
                problems.append(f"{use.where}: no {kind} document it counts" +
                                (f" has {use.field}" if use.how != "filtered" else f" ({use.query})"))
    return problems


def is_live_process_use(use: Use) -> bool:
    return bool(LIVE_PROCESS_FIELDS.match(use.field)) or any(LIVE_PROCESS_FIELDS.match(f) for f in kql_fields(use.query))


def test_every_used_field_is_in_the_documents_of_the_changes_it_counts(fimbeat_bin, workspace, start_agent):
    # inotify: fanotify needs CAP_DAC_READ_SEARCH, which the unprivileged run gives up
    docs = run_changes(fimbeat_bin, workspace, start_agent, "inotify", unprivileged=True)
    uses = [u for u in all_uses() if not is_live_process_use(u) and u.where not in PACKAGE_PANELS]
    assert len(uses) > 30
    problems = check_uses(uses, docs)
    assert not problems, "\n".join(problems)


def test_process_and_user_fields_are_in_live_fanotify_documents(fimbeat_bin, workspace, start_agent):
    reason = fanotify_usable()
    if reason:
        pytest.skip(reason)
    docs = run_changes(fimbeat_bin, workspace, start_agent, "fanotify", unprivileged=False)
    uses = [u for u in all_uses() if is_live_process_use(u) and u.where not in PACKAGE_PANELS]
    assert uses, "the objects show who changed files"
    problems = check_uses(uses, docs)
    assert not problems, "\n".join(problems)
