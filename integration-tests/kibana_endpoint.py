#!/usr/bin/env python3
"""A Kibana stand-in for fimbeat's tests: the status API and the saved objects import API.

It follows Kibana's documented semantics (the saved objects import API and the status API of
Kibana 8.11 to 9.x) for what fimbeat uses, strictly:

- ``GET [/s/<space>]/api/status`` answers ``version.number`` (and build_snapshot) and
  ``status.overall.level``.
- Authentication when users or API keys are configured: ``Authorization: Basic`` or
  ``Authorization: ApiKey base64(id:key)``; 401 ``{"statusCode","error","message"}`` otherwise.
- Spaces: ``/s/<space_id>/api/...``; objects live in the space they were imported into; an unknown
  space is 404.
- ``POST /api/saved_objects/_import`` needs ``kbn-xsrf`` (400 without), a multipart/form-data body
  whose one part ``file`` has a ``.ndjson`` file name (400 otherwise), and answers 200 with
  ``{"success","successCount","successResults","errors"}``. Each object gets its own error:
  ``unsupported_type`` (a type that is not importable), ``conflict`` (it exists and
  ``overwrite`` is not true), ``missing_references`` (a reference that is neither in the file nor
  in the space), ``unknown`` with statusCode 400 for an object from a newer Kibana (its
  ``typeMigrationVersion``/``migrationVersion``/``coreMigrationVersion`` above this Kibana's, as
  Kibana's migrator refuses them) and for an object whose shape its type's schema rejects. The
  objects without an error are created, as Kibana does; ``success`` is true only without errors.

The shapes checked are in kibana_schemas.py, which says which of elastic/kibana's schemas (of the
8.11 line) it follows.
"""

from __future__ import annotations

import base64
import json
import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Optional
from urllib.parse import parse_qs, urlsplit

from kibana_schemas import UNCHECKED_TYPES, VALIDATORS, ShapeError, validate_object

# The newest migration version of each type that Kibana knows, per release line (an object with a
# higher one is refused). 8.11: coreMigrationVersion 8.8.0, dashboard and lens 8.9.0, search and
# index-pattern 8.0.0. 9.2: dashboard and search on model versions (10.3.0, 10.9.0, as Elastic's
# fim package 1.18 ships them); the other types keep their 8.11 values here (a lower bound).
TYPE_VERSIONS = {
    "8.11": {"core": "8.8.0", "dashboard": "8.9.0", "search": "8.0.0", "lens": "8.9.0", "index-pattern": "8.0.0",
             "visualization": "8.5.0", "map": "8.4.0", "tag": "8.0.0", "query": "8.0.0"},
    "9.2": {"core": "8.8.0", "dashboard": "10.3.0", "search": "10.9.0", "lens": "8.9.0", "index-pattern": "8.0.0",
            "visualization": "8.5.0", "map": "8.4.0", "tag": "8.0.0", "query": "8.0.0"},
}
def version_tuple(text: str) -> tuple[int, ...]:
    return tuple(int(x) for x in re.findall(r"\d+", text)[:3])


# --------------------------------------------------------------------------- the endpoint


class KibanaEndpoint:
    """The stand-in; every public method is thread-safe."""

    def __init__(self, version: str = "8.11.4", users: Optional[dict[str, str]] = None,
                 api_keys: Optional[dict[str, str]] = None, spaces: tuple[str, ...] = ("default",),
                 status_level: str = "available"):
        self.version = version
        line = "9.2" if version_tuple(version) >= (9, 2) else "8.11"
        self.type_versions = TYPE_VERSIONS[line]
        self.users = dict(users or {})
        self.api_keys = dict(api_keys or {})
        self.status_level = status_level
        self.lock = threading.RLock()
        self.objects: dict[str, dict[tuple[str, str], dict]] = {space: {} for space in spaces}
        self.requests: list[tuple[str, str, int]] = []
        self.imports: list[dict] = []  # each import's query, objects and answer
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(self), bind_and_activate=False)
        self.server.daemon_threads = True
        self.server.server_bind()
        self._thread: Optional[threading.Thread] = None

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> "KibanaEndpoint":
        self.server.server_activate()
        self._thread = threading.Thread(target=self.server.serve_forever, name="kibana-endpoint", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._thread is not None:
            self.server.shutdown()
            self._thread.join(timeout=5)
        self.server.server_close()

    def __enter__(self) -> "KibanaEndpoint":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    def stored(self, space: str = "default") -> dict[tuple[str, str], dict]:
        """(type, id) -> the object as imported, in that space."""
        with self.lock:
            return dict(self.objects[space])

    def put(self, obj: dict, space: str = "default") -> None:
        """An object that exists before a test imports (for conflicts and references)."""
        with self.lock:
            self.objects[space][(obj["type"], obj["id"])] = obj

    def request_log(self) -> list[tuple[str, str, int]]:
        with self.lock:
            return list(self.requests)

    # ----------------------------------------------------------------- handlers

    def check_auth(self, header: str) -> Optional[str]:
        if not self.users and not self.api_keys:
            return None
        scheme, _, token = header.partition(" ")
        try:
            name, _, secret = base64.b64decode(token, validate=True).decode().partition(":")
        except (ValueError, UnicodeDecodeError):
            return "[security_exception]: missing authentication credentials for REST request"
        if scheme == "Basic" and name in self.users and self.users[name] == secret:
            return None
        if scheme == "ApiKey" and name in self.api_keys and self.api_keys[name] == secret:
            return None
        return f"[security_exception]: unable to authenticate user [{name}] for REST request"

    def status(self) -> tuple[int, dict]:
        return 200, {"name": "kibana-endpoint", "uuid": "00000000-0000-0000-0000-000000000000",
                     "version": {"number": self.version, "build_hash": "0" * 40, "build_number": 1,
                                 "build_snapshot": self.version.endswith("SNAPSHOT")},
                     "status": {"overall": {"level": self.status_level, "summary": "All services are available"},
                                "core": {}, "plugins": {}}}

    def newer_than_known(self, obj: dict) -> Optional[str]:
        known = self.type_versions.get(obj["type"])
        versions = [obj.get("typeMigrationVersion")] + list((obj.get("migrationVersion") or {}).values())
        for v in filter(None, versions):
            if known and version_tuple(v) > version_tuple(known):
                return (f"Document \"{obj['id']}\" belongs to a more recent version of Kibana [{v}] when the last "
                        f"known version is [{known}].")
        core = obj.get("coreMigrationVersion")
        if core and version_tuple(core) > version_tuple(self.version):
            return f"Document \"{obj['id']}\" has a coreMigrationVersion [{core}] newer than this Kibana [{self.version}]."
        return None

    def import_objects(self, space: str, query: dict, objects: list[dict]) -> tuple[int, dict]:
        overwrite = query.get("overwrite") == "true"
        if overwrite and query.get("createNewCopies") == "true":
            return 400, _error(400, "Bad Request", "[request query]: cannot use [overwrite] with [createNewCopies]")
        with self.lock:
            store = self.objects[space]
            in_file = {(o.get("type"), o.get("id")) for o in objects}
            errors, results = [], []
            for obj in objects:
                problem = self._object_error(obj, store, in_file, overwrite)
                if problem is not None:
                    errors.append({"id": obj.get("id"), "type": obj.get("type"),
                                   "title": obj.get("attributes", {}).get("title"),
                                   "meta": {"title": obj.get("attributes", {}).get("title")}, "error": problem})
                    continue
                existed = (obj["type"], obj["id"]) in store
                store[(obj["type"], obj["id"])] = obj
                result = {"type": obj["type"], "id": obj["id"], "meta": {"title": obj["attributes"].get("title")}}
                if existed:
                    result["overwrite"] = True
                results.append(result)
            answer = {"success": not errors, "successCount": len(results)}
            if results:
                answer["successResults"] = results
            answer["errors"] = errors
            self.imports.append({"space": space, "query": dict(query), "objects": objects, "answer": answer})
            return 200, answer

    def _object_error(self, obj: Any, store: dict, in_file: set, overwrite: bool) -> Optional[dict]:
        if not isinstance(obj, dict) or obj.get("type") not in set(VALIDATORS) | UNCHECKED_TYPES:
            return {"type": "unsupported_type"}
        newer = self.newer_than_known(obj)
        if newer:
            return {"type": "unknown", "message": newer, "statusCode": 400}
        try:
            validate_object(obj)
        except ShapeError as e:
            return {"type": "unknown", "message": str(e), "statusCode": 400}
        missing = [{"type": r["type"], "id": r["id"]} for r in obj.get("references", [])
                   if (r["type"], r["id"]) not in in_file and (r["type"], r["id"]) not in store]
        if missing:
            unique = [dict(t) for t in dict.fromkeys(tuple(m.items()) for m in missing)]
            return {"type": "missing_references", "references": unique}
        if not overwrite and (obj["type"], obj["id"]) in store:
            return {"type": "conflict", "destinationId": obj["id"]}
        return None


def _error(status: int, error: str, message: str) -> dict:
    return {"statusCode": status, "error": error, "message": message}


def parse_multipart(content_type: str, body: bytes) -> tuple[Optional[str], Optional[bytes], str]:
    """(file name, content) of the one part named "file", or (None, None, why not)."""
    m = re.match(r'multipart/form-data;\s*boundary="?([^";]+)"?', content_type or "")
    if not m:
        return None, None, "Unsupported Media Type"
    delimiter = b"--" + m.group(1).encode()
    if not body.startswith(delimiter) or not body.rstrip(b"\r\n").endswith(delimiter + b"--"):
        return None, None, "Invalid multipart payload format"
    parts = body[len(delimiter):].split(b"\r\n" + delimiter)
    files = []
    for raw in parts:
        if raw.startswith(b"--"):
            break
        head, sep, content = raw.lstrip(b"\r\n").partition(b"\r\n\r\n")
        if not sep:
            return None, None, "Invalid multipart payload format"
        disposition = re.search(rb'Content-Disposition:\s*form-data;\s*name="([^"]*)"(?:;\s*filename="([^"]*)")?', head, re.I)
        if disposition and disposition.group(1) == b"file":
            files.append(((disposition.group(2) or b"").decode(), content))
    if len(files) != 1:
        return None, None, "[request body.file]: expected value of type [Stream] but got [undefined]"
    return files[0][0], files[0][1], ""


def _make_handler(kb: KibanaEndpoint) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        server_version = "kibana-endpoint"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _answer(self, status: int, payload: Any) -> None:
            data = json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json; charset=utf-8")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def _serve(self, method: str) -> None:
            split = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            status, payload = self._dispatch(method, split.path, {k: v[-1] for k, v in parse_qs(split.query).items()}, body)
            with kb.lock:
                kb.requests.append((method, split.path, status))
            self._answer(status, payload)

        def _dispatch(self, method: str, path: str, query: dict, body: bytes) -> tuple[int, Any]:
            reason = kb.check_auth(self.headers.get("Authorization", ""))
            if reason is not None:
                return 401, _error(401, "Unauthorized", reason)
            space = "default"
            m = re.match(r"^/s/([a-z0-9_-]+)(/.*)$", path)
            if m:
                space, path = m.group(1), m.group(2)
            if space not in kb.objects:
                return 404, _error(404, "Not Found", "Not Found")
            if method != "GET" and "kbn-xsrf" not in {k.lower() for k in self.headers.keys()}:
                return 400, _error(400, "Bad Request", "Request must contain a kbn-xsrf header.")
            if path == "/api/status" and method == "GET":
                return kb.status()
            if path == "/api/saved_objects/_import" and method == "POST":
                return self._import(space, query, body)
            return 404, _error(404, "Not Found", "Not Found")

        def _import(self, space: str, query: dict, body: bytes) -> tuple[int, Any]:
            name, content, why = parse_multipart(self.headers.get("Content-Type", ""), body)
            if content is None:
                if why == "Unsupported Media Type":
                    return 415, _error(415, "Unsupported Media Type", why)
                return 400, _error(400, "Bad Request", why)
            if not name.endswith(".ndjson"):
                return 400, _error(400, "Bad Request", f"Invalid file extension {name[name.rfind('.'):] or name}")
            objects = []
            for number, line in enumerate(content.split(b"\n"), start=1):
                if not line.strip():
                    continue
                try:
                    objects.append(json.loads(line))
                except ValueError as e:
                    return 400, _error(400, "Bad Request", f"Unexpected token in JSON at line {number}: {e}")
            return kb.import_objects(space, query, objects)

        def do_GET(self) -> None:
            self._serve("GET")

        def do_POST(self) -> None:
            self._serve("POST")

        def do_PUT(self) -> None:
            self._serve("PUT")

    return Handler
