#!/usr/bin/env python3
"""An Elasticsearch-compatible HTTP endpoint for fimbeat's tests and benchmarks.

It follows Elasticsearch's documented semantics for what fimbeat uses:

- ``GET /`` answers cluster_name and ``version.number`` (configurable).
- ``POST [/<index>]/_bulk`` reads NDJSON (``Content-Encoding: gzip`` accepted), answers one item
  per action in order, with per-item statuses. Targets matching an index template with
  ``data_stream: {}`` (or ``logs-*-*``, the built-in ``logs`` template) are data streams: they
  accept only ``create`` (``index`` gets 400 as Elasticsearch answers), need ``@timestamp``
  (400 otherwise). ``create`` with an existing ``_id`` is 409 version_conflict_engine_exception.
  Other targets are plain indices, created on first write.
- Fields are checked against the mappings (template mappings plus dynamic mappings learned from
  earlier documents): a long/date/ip/boolean field with a value of the wrong kind, an object where
  a concrete value is mapped and the reverse are 400 document_parsing_exception
  (mapper_parsing_exception before 8.8).
- ``filter_path`` is honoured (``*`` for one level, ``**`` for any depth, arrays transparent).
- ``PUT/GET/HEAD/DELETE /_index_template/<name>``, ``PUT/GET /_ilm/policy/<name>``,
  ``POST /_security/user/_has_privileges``.
- Basic auth and API keys (``Authorization: ApiKey base64(id:key)``) when users or keys are
  configured (401 otherwise), TLS through the ssl module.

Fault injection (see the methods of ``EsEndpoint``): whole-request statuses for the next N
requests, per-item statuses for documents matching a predicate, dropped connections, slow
answers, a body size limit (413), and a fast mode that counts items without validating.

In-process (pytest)::

    with EsEndpoint() as es:
        ...  # point fimbeat at es.url
        assert es.count("logs-fim.event-default") == 3

As a script (benchmarks): ``es_endpoint.py --port 9200 --fast`` serves until interrupted.
"""

from __future__ import annotations

import argparse
import base64
import fnmatch
import gzip
import ipaddress
import json
import re
import socket
import ssl
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Callable, Optional
from urllib.parse import parse_qs, unquote, urlsplit

# The built-in `logs` template: logs-*-* are data streams unless a template with a higher
# priority says otherwise.
BUILTIN_LOGS_TEMPLATE = {
    "index_patterns": ["logs-*-*"],
    "data_stream": {},
    "priority": 100,
    "template": {"mappings": {"properties": {"@timestamp": {"type": "date"}}}},
}

STRING_TYPES = {"keyword", "text", "match_only_text", "wildcard", "constant_keyword", "version"}
INTEGER_TYPES = {"long", "integer", "short", "byte", "unsigned_long"}
FLOAT_TYPES = {"double", "float", "half_float", "scaled_float"}
ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}(T\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$")


class MappingError(Exception):
    """A document that does not fit the mappings: 400 with this reason."""


# --------------------------------------------------------------------------- filter_path


def _segments(pattern: str) -> list[str]:
    return [s for s in pattern.split(".") if s]


def apply_filter_path(value: Any, filter_path: Optional[str]) -> Any:
    """Keeps only what the comma-separated filter_path patterns select, as Elasticsearch does."""
    if not filter_path:
        return value
    patterns = [_segments(p.strip()) for p in filter_path.split(",") if p.strip()]
    filtered = _filter(value, patterns)
    return filtered if filtered is not None else {}


def _filter(value: Any, patterns: list[list[str]]) -> Any:
    if isinstance(value, list):
        out = [f for f in (_filter(v, patterns) for v in value) if f is not None]
        return out or None
    if not isinstance(value, dict):
        return None
    result = {}
    for key, child in value.items():
        keep_whole = False
        rest: list[list[str]] = []
        for p in patterns:
            if not p:
                continue
            if p[0] == "**":
                rest.append(p)  # ** may swallow this level too
                if len(p) == 1:
                    keep_whole = True
                elif fnmatch.fnmatchcase(key, p[1]):
                    if len(p) == 2:
                        keep_whole = True
                    else:
                        rest.append(p[2:])
            elif fnmatch.fnmatchcase(key, p[0]):
                if len(p) == 1:
                    keep_whole = True
                else:
                    rest.append(p[1:])
        if keep_whole:
            result[key] = child
        elif rest:
            sub = _filter(child, rest)
            if sub is not None:
                result[key] = sub
    return result or None


# --------------------------------------------------------------------------- mappings


def _kind_for_dynamic(value: Any) -> Optional[dict]:
    if isinstance(value, bool):
        return {"type": "boolean"}
    if isinstance(value, int):
        return {"type": "long"}
    if isinstance(value, float):
        return {"type": "float"}
    if isinstance(value, str):
        return {"type": "keyword"}
    if isinstance(value, dict):
        return {"properties": {}}
    return None


def _check_value(path: str, mapping: dict, value: Any) -> None:
    kind = mapping.get("type", "object" if "properties" in mapping or not mapping else None)
    if value is None:
        return
    if kind in ("object", "nested"):
        if not isinstance(value, dict):
            raise MappingError(
                f"object mapping for [{path}] tried to parse field [{path}] as object, but found a concrete value")
        return
    if kind == "flattened":
        return
    if isinstance(value, dict):
        raise MappingError(f"failed to parse field [{path}] of type [{kind}] in document. "
                           f"Preview of field's value: '{value}'")
    bad = False
    if kind in STRING_TYPES:
        bad = False
    elif kind in INTEGER_TYPES:
        if isinstance(value, bool):
            bad = True
        elif isinstance(value, (int, float)):
            bad = False
        else:
            try:
                float(str(value))
            except ValueError:
                bad = True
    elif kind in FLOAT_TYPES:
        if isinstance(value, bool):
            bad = True
        elif not isinstance(value, (int, float)):
            try:
                float(str(value))
            except ValueError:
                bad = True
    elif kind in ("date", "date_nanos"):
        if isinstance(value, bool):
            bad = True
        elif isinstance(value, (int, float)):
            bad = False
        else:
            bad = not ISO_DATE.match(str(value))
    elif kind == "ip":
        try:
            ipaddress.ip_address(str(value))
        except ValueError:
            bad = True
        bad = bad or isinstance(value, bool)
    elif kind == "boolean":
        bad = not (isinstance(value, bool) or value in ("true", "false", ""))
    if bad:
        raise MappingError(f"failed to parse field [{path}] of type [{kind}] in document. "
                           f"Preview of field's value: '{value}'")


def check_document(mappings: dict, doc: dict, learned: dict) -> None:
    """Raises MappingError when doc does not fit mappings; new dynamic fields go into learned."""

    def walk(props: dict, new_props: dict, obj: dict, prefix: str) -> None:
        for key, value in obj.items():
            if "." in key and key not in props:  # dotted keys are object paths
                head, tail = key.split(".", 1)
                walk(props, new_props, {head: {tail: value}}, prefix)
                continue
            path = f"{prefix}{key}"
            mapping = props.get(key) or new_props.get(key)
            values = value if isinstance(value, list) else [value]
            for v in values:
                if mapping is None:
                    mapping = _kind_for_dynamic(v)
                    if mapping is None:
                        continue
                    new_props[key] = mapping
                _check_value(path, mapping, v)
                if isinstance(v, dict):
                    mapping.setdefault("properties", {})
                    walk(mapping["properties"], mapping["properties"], v, path + ".")

    # Work on a copy so that a refused document teaches nothing.
    candidate = json.loads(json.dumps(mappings))
    walk(candidate.setdefault("properties", {}), candidate["properties"], doc, "")
    learned.clear()
    learned.update(candidate)


# --------------------------------------------------------------------------- state


@dataclass
class Index:
    name: str
    data_stream: bool
    mappings: dict
    docs: dict = field(default_factory=dict)  # _id -> source, in arrival order


@dataclass
class ItemFault:
    status: int
    match: Callable[[dict], bool]
    remaining: int
    error_type: str = ""


class EsEndpoint:
    """The endpoint; every public method is thread-safe."""

    def __init__(self, version: str = "8.15.0", host: str = "127.0.0.1", port: int = 0,
                 users: Optional[dict[str, str]] = None, api_keys: Optional[dict[str, str]] = None,
                 certfile: Optional[str] = None, keyfile: Optional[str] = None, fast: bool = False,
                 max_body_bytes: Optional[int] = None, cluster_name: str = "fimbeat-test",
                 client_ca: Optional[str] = None):
        self.version = version
        self.users = dict(users or {})
        self.api_keys = dict(api_keys or {})
        self.fast = fast
        self.max_body_bytes = max_body_bytes
        self.cluster_name = cluster_name
        self.deny_privileges = False
        self.lock = threading.RLock()
        self.indices: dict[str, Index] = {}
        self.templates: dict[str, dict] = {}
        self.policies: dict[str, dict] = {}
        # Ingest pipelines a test defines: name → fields its `set` processors write. The bulk API's
        # `pipeline` query parameter runs one on every document; an unknown one fails each item
        # (https://www.elastic.co/guide/en/elasticsearch/reference/current/docs-bulk.html).
        self.ingest_pipelines: dict[str, dict] = {}
        self.requests: list[tuple[str, str, int]] = []  # (method, path, status)
        self.stats = {"creates": 0, "conflicts": 0, "items": 0, "bulk_requests": 0, "rejected": 0,
                      "item_faults": 0, "request_faults": 0, "dropped_connections": 0, "auth_failures": 0,
                      "bytes_received": 0, "gzip_requests": 0}
        self._request_faults: list[list] = []  # [status, remaining, path regex]
        self._item_faults: list[ItemFault] = []
        self._drop_next = 0
        self._delay = 0.0
        self.server = _Server((host, port), _make_handler(self), bind_and_activate=False)
        self.server.daemon_threads = True
        self.server.allow_reuse_address = True
        self.server.server_bind()  # the port is ours from here on: connections are refused until start()
        self.tls = certfile is not None
        if certfile:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile)
            if client_ca:  # mutual TLS: clients must present a certificate this CA signed
                context.verify_mode = ssl.CERT_REQUIRED
                context.load_verify_locations(client_ca)
            self.server.socket = context.wrap_socket(self.server.socket, server_side=True,
                                                     do_handshake_on_connect=False)
        self._thread: Optional[threading.Thread] = None

    # ----------------------------------------------------------------- lifecycle

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def start(self) -> "EsEndpoint":
        self.server.server_activate()
        self._thread = threading.Thread(target=self.server.serve_forever, name="es-endpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(timeout=5)
        self.server.server_close()

    def __enter__(self) -> "EsEndpoint":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ----------------------------------------------------------------- fault injection

    def fail_requests(self, status: int, count: int = 1, path: str = r"/_bulk") -> None:
        """The next `count` requests whose path matches the regex get `status` as a whole."""
        with self.lock:
            self._request_faults.append([status, count, re.compile(path)])

    def fail_items(self, status: int, match: Callable[[dict], bool], count: int = 1 << 30,
                   error_type: str = "") -> None:
        """Bulk items whose source matches get `status` (count times at most)."""
        with self.lock:
            self._item_faults.append(ItemFault(status, match, count, error_type))

    def clear_item_faults(self) -> None:
        """Items are answered normally again."""
        with self.lock:
            self._item_faults.clear()

    def drop_connections(self, count: int = 1) -> None:
        """The next `count` requests are read, then the connection is closed without an answer."""
        with self.lock:
            self._drop_next += count

    def slow(self, seconds: float) -> None:
        """Every answer waits this long first (0 to stop)."""
        with self.lock:
            self._delay = seconds

    # ----------------------------------------------------------------- query API

    def documents(self, name: str) -> list[dict]:
        with self.lock:
            index = self.indices.get(name)
            return [json.loads(json.dumps(d)) for d in index.docs.values()] if index else []

    def ids(self, name: str) -> list[str]:
        with self.lock:
            index = self.indices.get(name)
            return list(index.docs.keys()) if index else []

    def by_id(self, name: str) -> dict[str, dict]:
        """The stored documents of `name` by their _id."""
        with self.lock:
            index = self.indices.get(name)
            return {k: json.loads(json.dumps(d)) for k, d in index.docs.items()} if index else {}

    def count(self, name: str) -> int:
        with self.lock:
            index = self.indices.get(name)
            return len(index.docs) if index else 0

    def is_data_stream(self, name: str) -> bool:
        with self.lock:
            return name in self.indices and self.indices[name].data_stream

    def stat(self, key: str) -> int:
        with self.lock:
            return self.stats[key]

    def request_log(self) -> list[tuple[str, str, int]]:
        with self.lock:
            return list(self.requests)

    # ----------------------------------------------------------------- request handling

    def _check_auth(self, headers: Any) -> Optional[str]:
        """None when the request may proceed, else the user-facing reason for a 401."""
        if not self.users and not self.api_keys:
            return None
        value = headers.get("Authorization", "")
        scheme, _, token = value.partition(" ")
        try:
            decoded = base64.b64decode(token, validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            return "missing authentication credentials for REST request"
        name, _, secret = decoded.partition(":")
        if scheme == "Basic" and self.users.get(name) == secret and name in self.users:
            return None
        if scheme == "ApiKey" and self.api_keys.get(name) == secret and name in self.api_keys:
            return None
        return f"unable to authenticate user [{name}] for REST request"

    def _take_request_fault(self, path: str) -> Optional[int]:
        with self.lock:
            for fault in self._request_faults:
                if fault[1] > 0 and fault[2].search(path):
                    fault[1] -= 1
                    self.stats["request_faults"] += 1
                    return fault[0]
        return None

    def _parse_exception(self) -> str:
        major, minor = (int(x) for x in self.version.split(".")[:2])
        return "document_parsing_exception" if (major, minor) >= (8, 8) else "mapper_parsing_exception"

    def _template_for(self, name: str) -> Optional[dict]:
        best = None
        candidates = list(self.templates.values()) + [BUILTIN_LOGS_TEMPLATE]
        for template in candidates:
            if any(fnmatch.fnmatchcase(name, p) for p in template.get("index_patterns", [])):
                if best is None or template.get("priority", 0) > best.get("priority", 0):
                    best = template
        return best

    def _target(self, name: str) -> Index:
        index = self.indices.get(name)
        if index is None:
            template = self._template_for(name)
            mappings = json.loads(json.dumps((template or {}).get("template", {}).get("mappings", {})))
            index = Index(name, bool(template is not None and "data_stream" in template), mappings)
            self.indices[name] = index
        return index

    def bulk(self, body: bytes, default_index: Optional[str], pipeline: Optional[str] = None) -> tuple[int, dict]:
        if self.fast:
            return self._fast_bulk(body)
        lines = body.split(b"\n")
        items = []
        errors = False
        started = time.monotonic()
        i = 0
        with self.lock:
            self.stats["bulk_requests"] += 1
            while i < len(lines):
                raw = lines[i]
                i += 1
                if not raw.strip():
                    continue
                try:
                    action_line = json.loads(raw)
                    (action, meta), = action_line.items()
                except (ValueError, AttributeError):
                    return 400, _error("illegal_argument_exception", f"Malformed action/metadata line [{i}]", 400)
                source = None
                if action in ("create", "index", "update"):
                    if i >= len(lines):
                        return 400, _error("illegal_argument_exception", "The bulk request must be terminated by a newline [\\n]", 400)
                    source_raw = lines[i]
                    i += 1
                    try:
                        source = json.loads(source_raw)
                    except ValueError as e:
                        source = e
                self.stats["items"] += 1
                if pipeline is not None and pipeline not in self.ingest_pipelines:
                    items.append({action: _item_error(meta.get("_index", default_index), meta.get("_id"), 400,
                                                      "illegal_argument_exception",
                                                      f"pipeline with id [{pipeline}] does not exist")})
                    errors = True
                    continue
                if pipeline is not None and isinstance(source, dict):
                    source = {**source, **self.ingest_pipelines[pipeline]}
                item = self._bulk_item(action, meta, source, default_index)
                if item["status"] >= 300:
                    errors = True
                items.append({action: item})
        took = int((time.monotonic() - started) * 1000)
        return 200, {"took": took, "errors": errors, "items": items}

    def _fast_bulk(self, body: bytes) -> tuple[int, dict]:
        """Counts create actions (every other line) and answers 201 for each, storing nothing."""
        count = (body.count(b"\n") + (0 if body.endswith(b"\n") else 1)) // 2
        with self.lock:
            self.stats["bulk_requests"] += 1
            self.stats["items"] += count
            self.stats["creates"] += count
        return 200, {"took": 0, "errors": False, "items": [{"create": {"status": 201, "result": "created"}}] * count}

    def _bulk_item(self, action: str, meta: dict, source: Any, default_index: Optional[str]) -> dict:
        name = meta.get("_index", default_index)
        doc_id = meta.get("_id")
        if not name:
            return _item_error(None, doc_id, 400, "action_request_validation_exception", "index is missing")
        for fault in self._item_faults:
            if fault.remaining > 0 and isinstance(source, dict) and fault.match(source):
                fault.remaining -= 1
                self.stats["item_faults"] += 1
                kind = fault.error_type or ("es_rejected_execution_exception" if fault.status == 429
                                            else self._parse_exception())
                return _item_error(name, doc_id, fault.status, kind, f"injected failure (HTTP {fault.status})")
        if isinstance(source, Exception):
            self.stats["rejected"] += 1
            return _item_error(name, doc_id, 400, self._parse_exception(), f"failed to parse: {source}")
        index = self._target(name)
        if index.data_stream and action != "create":
            self.stats["rejected"] += 1
            return _item_error(name, doc_id, 400, "illegal_argument_exception",
                               f"only write ops with an op_type of create are allowed in data streams")
        if action not in ("create", "index"):
            return _item_error(name, doc_id, 400, "illegal_argument_exception", f"action [{action}] is not supported here")
        if not isinstance(source, dict):
            self.stats["rejected"] += 1
            return _item_error(name, doc_id, 400, self._parse_exception(), "the document is not a JSON object")
        if index.data_stream and "@timestamp" not in source:
            self.stats["rejected"] += 1
            return _item_error(name, doc_id, 400, self._parse_exception(),
                               "data stream timestamp field [@timestamp] is missing")
        if doc_id is not None and (not isinstance(doc_id, str) or not doc_id or len(doc_id.encode()) > 512):
            # Elasticsearch's _id: a string of 1 to 512 bytes (mapping-id-field docs).
            self.stats["rejected"] += 1
            return _item_error(name, None, 400, "illegal_argument_exception",
                               f"id [{doc_id}] is not a string of 1 to 512 bytes")
        if doc_id is None:
            doc_id = uuid.uuid4().hex[:20]
        if action == "create" and doc_id in index.docs:
            self.stats["conflicts"] += 1
            return _item_error(name, doc_id, 409, "version_conflict_engine_exception",
                               f"[{doc_id}]: version conflict, document already exists (current version [1])")
        learned: dict = {}
        try:
            check_document(index.mappings, source, learned)
        except MappingError as e:
            self.stats["rejected"] += 1
            return _item_error(name, doc_id, 400, self._parse_exception(), str(e))
        index.mappings = learned
        index.docs[doc_id] = source
        self.stats["creates"] += 1
        return {"_index": name, "_id": doc_id, "_version": 1, "result": "created", "status": 201,
                "_shards": {"total": 1, "successful": 1, "failed": 0}, "_seq_no": len(index.docs) - 1,
                "_primary_term": 1}

    def has_privileges(self, body: dict) -> tuple[int, dict]:
        if not self.users and not self.api_keys:
            return 500, _error("security_exception",
                               "Security must be explicitly enabled when using a [basic] license", 500)
        allowed = not self.deny_privileges
        index_result = {}
        for entry in body.get("index", []):
            for name in entry.get("names", []):
                index_result[name] = {p: allowed for p in entry.get("privileges", [])}
        cluster = {p: allowed for p in body.get("cluster", [])}
        return 200, {"username": "test", "has_all_requested": allowed, "cluster": cluster, "index": index_result,
                     "application": {}}

    def handle(self, method: str, path: str, query: dict, body: bytes) -> tuple[int, Any]:
        parts = [unquote(p) for p in path.split("/") if p]
        if method in ("GET", "HEAD") and not parts:
            return 200, {"name": "es-endpoint", "cluster_name": self.cluster_name, "cluster_uuid": "test",
                         "version": {"number": self.version, "build_flavor": "default"},
                         "tagline": "You Know, for Search"}
        if parts and parts[-1] == "_bulk" and method in ("POST", "PUT") and len(parts) <= 2:
            return self.bulk(body, parts[0] if len(parts) == 2 else None, query.get("pipeline"))
        if len(parts) == 2 and parts[0] == "_index_template":
            return self._template_call(method, parts[1], body)
        if len(parts) == 3 and parts[:2] == ["_ilm", "policy"]:
            return self._policy_call(method, parts[2], body)
        if parts == ["_security", "user", "_has_privileges"] and method in ("GET", "POST"):
            return self.has_privileges(json.loads(body or b"{}"))
        return 404, _error("resource_not_found_exception", f"no handler for [{method} {path}] in the test endpoint", 404)

    def _template_call(self, method: str, name: str, body: bytes) -> tuple[int, Any]:
        with self.lock:
            if method == "PUT":
                template = json.loads(body)
                if not isinstance(template.get("index_patterns"), list) or not template["index_patterns"]:
                    return 400, _error("action_request_validation_exception",
                                       "Validation Failed: 1: index patterns are missing;", 400)
                self.templates[name] = template
                return 200, {"acknowledged": True}
            if method in ("GET", "HEAD"):
                if name not in self.templates:
                    return 404, _error("resource_not_found_exception", f"index template matching [{name}] not found", 404)
                return 200, {"index_templates": [{"name": name, "index_template": self.templates[name]}]}
            if method == "DELETE" and self.templates.pop(name, None) is not None:
                return 200, {"acknowledged": True}
        return 404, _error("resource_not_found_exception", f"index template matching [{name}] not found", 404)

    def _policy_call(self, method: str, name: str, body: bytes) -> tuple[int, Any]:
        with self.lock:
            if method == "PUT":
                policy = json.loads(body)
                if not isinstance(policy.get("policy"), dict):
                    return 400, _error("x_content_parse_exception", "[put_lifecycle_request] policy is missing", 400)
                previous = self.policies.get(name, {}).get("version", 0)
                self.policies[name] = {"version": previous + 1, "modified_date": datetime.utcnow().isoformat() + "Z",
                                       "policy": policy["policy"]}
                return 200, {"acknowledged": True}
            if method == "GET" and name in self.policies:
                return 200, {name: self.policies[name]}
        return 404, _error("resource_not_found_exception", f"Lifecycle policy not found: {name}", 404)


def _error(kind: str, reason: str, status: int) -> dict:
    return {"error": {"root_cause": [{"type": kind, "reason": reason}], "type": kind, "reason": reason},
            "status": status}


def _item_error(index: Optional[str], doc_id: Optional[str], status: int, kind: str, reason: str) -> dict:
    return {"_index": index, "_id": doc_id, "status": status, "error": {"type": kind, "reason": reason, "index": index}}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        """Clients that hang up or refuse our certificate are part of the tests: no traceback."""


def _make_handler(endpoint: EsEndpoint) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"  # keep-alive, as Elasticsearch
        disable_nagle_algorithm = True  # TCP_NODELAY, as Elasticsearch: the body is not held back behind the headers
        server_version = "es-endpoint"

        def log_message(self, format: str, *args: Any) -> None:  # quiet: tests read the request log
            pass

        def handle(self) -> None:
            try:
                super().handle()
            except ssl.SSLError:
                # A refused handshake (no client certificate, say): its alert is sent. Close as a
                # lingering server does (nginx's lingering_close): stop writing, read what the client
                # sent meanwhile, then close, so that no reset for unread data overtakes the alert.
                try:
                    self.connection.shutdown(socket.SHUT_WR)
                    self.connection.settimeout(1.0)
                    while self.connection.recv(65536):
                        pass
                except OSError:
                    pass
                raise

        def _read_body(self) -> Optional[bytes]:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            with endpoint.lock:
                endpoint.stats["bytes_received"] += len(body)
            if self.headers.get("Content-Encoding", "").lower() == "gzip":
                with endpoint.lock:
                    endpoint.stats["gzip_requests"] += 1
                try:
                    body = gzip.decompress(body)
                except (OSError, EOFError):
                    return None
            return body

        def _answer(self, status: int, payload: Any, head: bool = False, extra: Optional[dict] = None) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.send_header("X-elastic-product", "Elasticsearch")
            for name, value in (extra or {}).items():
                self.send_header(name, value)
            self.end_headers()
            if not head:
                self.wfile.write(data)

        def _serve(self, method: str) -> None:
            split = urlsplit(self.path)
            query = {k: v[-1] for k, v in parse_qs(split.query).items()}
            body = self._read_body()
            with endpoint.lock:
                delay = endpoint._delay
                drop = endpoint._drop_next > 0
                if drop:
                    endpoint._drop_next -= 1
                    endpoint.stats["dropped_connections"] += 1
            if delay:
                time.sleep(delay)  # injected slowness of the server, not a test waiting
            if drop:
                self.close_connection = True
                self.connection.shutdown(socket.SHUT_RDWR)
                return
            status, payload, extra = self._dispatch(method, split.path, query, body)
            with endpoint.lock:
                endpoint.requests.append((method, split.path, status))
            self._answer(status, apply_filter_path(payload, query.get("filter_path")), method == "HEAD", extra)

        def _dispatch(self, method: str, path: str, query: dict, body: Optional[bytes]) -> tuple[int, Any, dict]:
            reason = endpoint._check_auth(self.headers)
            if reason is not None:
                with endpoint.lock:
                    endpoint.stats["auth_failures"] += 1
                return 401, _error("security_exception", f"{reason} [{path}]", 401), {
                    "WWW-Authenticate": 'Basic realm="security" charset="UTF-8", ApiKey'}
            if body is None:
                return 400, _error("parse_exception", "request body is not valid gzip", 400), {}
            fault = endpoint._take_request_fault(path)
            if fault is not None:
                return fault, _error("injected_failure", f"injected failure (HTTP {fault})", fault), {}
            if endpoint.max_body_bytes is not None and len(body) > endpoint.max_body_bytes:
                return 413, _error("content_too_long_exception",
                                   f"request body of {len(body)} bytes is over the limit of {endpoint.max_body_bytes}", 413), {}
            try:
                status, payload = endpoint.handle(method, path, query, body)
            except ValueError as e:
                status, payload = 400, _error("parse_exception", f"request body is not valid JSON: {e}", 400)
            return status, payload, {}

        def do_GET(self) -> None:
            self._serve("GET")

        def do_HEAD(self) -> None:
            self._serve("HEAD")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_DELETE(self) -> None:
            self._serve("DELETE")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser(description="Elasticsearch-compatible test endpoint")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--version", default="8.15.0", help="version.number answered by GET /")
    parser.add_argument("--fast", action="store_true", help="count items without validating or storing them")
    parser.add_argument("--cert", help="TLS certificate (PEM); with --key serves https")
    parser.add_argument("--key", help="TLS private key (PEM)")
    parser.add_argument("--user", action="append", default=[], help="name:password, repeatable; requires auth")
    parser.add_argument("--api-key", action="append", default=[], help="id:key, repeatable; requires auth")
    parser.add_argument("--max-body-bytes", type=int, help="answer 413 to larger (decompressed) bodies")
    args = parser.parse_args()
    endpoint = EsEndpoint(version=args.version, host=args.host, port=args.port,
                          users=dict(u.split(":", 1) for u in args.user),
                          api_keys=dict(k.split(":", 1) for k in args.api_key),
                          certfile=args.cert, keyfile=args.key, fast=args.fast, max_body_bytes=args.max_body_bytes)
    endpoint.start()
    print(endpoint.url, flush=True)
    try:
        threading.Event().wait()
    except KeyboardInterrupt:
        pass
    finally:
        endpoint.stop()
        print(json.dumps(endpoint.stats), flush=True)


if __name__ == "__main__":
    main()
