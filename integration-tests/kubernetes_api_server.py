"""A strict stand-in for the Kubernetes API server, for add_kubernetes_metadata's tests.

Follows the Kubernetes API reference (v1.28, https://kubernetes.io/docs/reference/kubernetes-api/):
HTTPS only, every request authenticated with `Authorization: Bearer <token>` (a wrong or missing
token gets 401 and a Status object, as the API server answers; `accept()` changes the tokens
taken, for a rotation), and only the reads
add_kubernetes_metadata makes:

  GET /api/v1/pods                          list Pods (all namespaces)      -> PodList
  GET /api/v1/namespaces/{ns}/pods          list namespaced Pods            -> PodList
  GET /api/v1/namespaces/{ns}/pods/{name}   read a Pod                      -> Pod
  GET /api/v1/nodes, /api/v1/nodes/{name}   list / read Nodes               -> NodeList / Node
  GET /api/v1/namespaces/{name}             read a Namespace                -> Namespace

The list endpoints take only the query parameters the reference documents for them (here:
fieldSelector, labelSelector, limit, continue, resourceVersion, timeoutSeconds, watch=false),
and a fieldSelector on pods must be `spec.nodeName=<name>`, which the server applies. An
unknown path gets 404 with a NotFound Status. Anything outside the reference is recorded in
`violations`, which a test asserts is empty; `requests` keeps (path, query) of each request.
"""

from __future__ import annotations

import json
import ssl
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, urlsplit

LIST_QUERY = {"fieldSelector", "labelSelector", "limit", "continue", "resourceVersion", "timeoutSeconds", "watch"}


def status(code: int, reason: str, message: str) -> dict:
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure", "message": message,
            "reason": reason, "code": code}


def pod(name: str, namespace: str, node: str, uid: str, container_id: str, labels: Optional[dict] = None,
        annotations: Optional[dict] = None, ip: str = "10.244.1.7") -> dict:
    """A Pod as the API returns it, with one container running under containerd."""
    return {
        "metadata": {"name": name, "namespace": namespace, "uid": uid, "resourceVersion": "1001",
                     "creationTimestamp": "2024-01-01T00:00:00Z", "labels": labels or {},
                     "annotations": annotations or {},
                     "ownerReferences": [{"apiVersion": "apps/v1", "kind": "ReplicaSet", "name": name.rsplit("-", 1)[0],
                                          "uid": "rs-" + uid, "controller": True, "blockOwnerDeletion": True}]},
        "spec": {"nodeName": node, "containers": [{"name": "nginx", "image": "nginx:1.25",
                                                   "ports": [{"containerPort": 80, "protocol": "TCP"}]}]},
        "status": {"phase": "Running", "podIP": ip, "podIPs": [{"ip": ip}],
                   "containerStatuses": [{"name": "nginx", "image": "docker.io/library/nginx:1.25",
                                          "imageID": "docker.io/library/nginx@sha256:" + "1" * 64,
                                          "containerID": "containerd://" + container_id, "ready": True,
                                          "restartCount": 0, "started": True,
                                          "state": {"running": {"startedAt": "2024-01-01T00:00:01Z"}}}]},
    }


class KubernetesApiServer:
    def __init__(self, cert: str, key: str, token: str, pods: list[dict] = (), nodes: Optional[list[dict]] = None,
                 namespaces: Optional[list[dict]] = None):
        self.cert, self.key = cert, key
        self.tokens = {token}
        self.lock = threading.Lock()
        self.pods = list(pods)
        self.nodes = nodes or []
        self.namespaces = namespaces or []
        self.requests: list[tuple[str, dict]] = []
        self.tokens_seen: list[str] = []  # the bearer token of each request, in order
        self.violations: list[str] = []

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.server.server_address[1]}"

    def add_pod(self, p: dict) -> None:
        with self.lock:
            self.pods.append(p)

    def accept(self, *tokens: str) -> None:
        """The tokens the server takes from now on (a rotation accepts both for a while)."""
        with self.lock:
            self.tokens = set(tokens)

    def count(self, path: str) -> int:
        with self.lock:
            return sum(1 for p, _ in self.requests if p == path)

    def __enter__(self) -> "KubernetesApiServer":
        api = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:
                pass

            def reply(self, code: int, body: dict) -> None:
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def violation(self, code: int, why: str, reason: str = "BadRequest") -> None:
                with api.lock:
                    api.violations.append(f"{self.command} {self.path}: {why}")
                self.reply(code, status(code, reason, why))

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query, keep_blank_values=True)
                given = self.headers.get("Authorization", "")
                with api.lock:
                    api.requests.append((url.path, query))
                    api.tokens_seen.append(given.removeprefix("Bearer "))
                    accepted = {f"Bearer {t}" for t in api.tokens}
                if given not in accepted:
                    with api.lock:
                        api.violations.append(f"GET {self.path}: not authenticated with the bearer token")
                    return self.reply(401, status(401, "Unauthorized", "Unauthorized"))
                parts = [p for p in url.path.split("/") if p]
                if parts[:2] != ["api", "v1"]:
                    return self.violation(404, "the server could not find the requested resource", "NotFound")
                rest = parts[2:]
                is_list = rest in (["pods"], ["nodes"]) or (len(rest) == 3 and rest[0] == "namespaces" and rest[2] == "pods")
                allowed = LIST_QUERY if is_list else set()
                if set(query) - allowed:
                    return self.violation(400, f"query parameters {sorted(set(query) - allowed)} are not documented here")
                if "watch" in query and query["watch"] != ["false"]:
                    return self.violation(400, "watches are not served by this stand-in")
                with api.lock:
                    pods, nodes, namespaces = list(api.pods), list(api.nodes), list(api.namespaces)
                if rest == ["pods"] or (len(rest) == 3 and rest[0] == "namespaces" and rest[2] == "pods"):
                    selected = pods if rest == ["pods"] else [p for p in pods if p["metadata"]["namespace"] == rest[1]]
                    for selector in query.get("fieldSelector", []):
                        key, _, value = selector.partition("=")
                        if key != "spec.nodeName" or not value:
                            return self.violation(400, f"field selector {selector!r} is not spec.nodeName=<node>")
                        selected = [p for p in selected if p["spec"].get("nodeName") == value]
                    return self.reply(200, {"kind": "PodList", "apiVersion": "v1",
                                            "metadata": {"resourceVersion": "1001"}, "items": selected})
                if len(rest) == 4 and rest[0] == "namespaces" and rest[2] == "pods":
                    for p in pods:
                        if p["metadata"]["namespace"] == rest[1] and p["metadata"]["name"] == rest[3]:
                            return self.reply(200, {"kind": "Pod", "apiVersion": "v1", **p})
                    return self.reply(404, status(404, "NotFound", f'pods "{rest[3]}" not found'))
                if rest == ["nodes"]:
                    return self.reply(200, {"kind": "NodeList", "apiVersion": "v1", "metadata": {"resourceVersion": "7"},
                                            "items": nodes})
                if len(rest) == 2 and rest[0] == "nodes":
                    for n in nodes:
                        if n["metadata"]["name"] == rest[1]:
                            return self.reply(200, {"kind": "Node", "apiVersion": "v1", **n})
                    return self.reply(404, status(404, "NotFound", f'nodes "{rest[1]}" not found'))
                if len(rest) == 2 and rest[0] == "namespaces":
                    for n in namespaces:
                        if n["metadata"]["name"] == rest[1]:
                            return self.reply(200, {"kind": "Namespace", "apiVersion": "v1", **n})
                    return self.reply(404, status(404, "NotFound", f'namespaces "{rest[1]}" not found'))
                return self.violation(404, "the server could not find the requested resource", "NotFound")

            def refuse(self) -> None:
                with api.lock:
                    api.requests.append((self.path, {}))
                self.violation(405, "add_kubernetes_metadata only reads", "MethodNotAllowed")

            do_POST = do_PUT = do_PATCH = do_DELETE = refuse

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        context.load_cert_chain(self.cert, self.key)
        self.server.socket = context.wrap_socket(self.server.socket, server_side=True)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
