"""A strict stand-in for the Docker Engine API on a unix socket, for add_docker_metadata's tests.

Follows the Docker Engine API reference, version 1.43 (https://docs.docker.com/engine/api/v1.43/):
`GET /version` (SystemVersion), `GET /v{version}/containers/json` (ContainerList: running
containers, answer an array of ContainerSummary) and `GET /v{version}/containers/{id}/json`
(ContainerInspect: a ContainerInspectResponse, or 404 with an ErrorResponse
{"message": "No such container: <id>"}). Every request is checked against the reference: the
method, the path and its version (the one the daemon advertised or lower, as the reference's
versioning section says), the query parameters each endpoint documents, a Host header (HTTP/1.1)
and no body. Whatever does not fit is answered as the daemon would (404 {"message": "page not
found"}, 405, 400) and recorded in `violations`, which a test asserts is empty.

    with DockerApiServer(socket_path, containers=[...], api_version="1.43") as docker:
        ... add_docker_metadata: {host: "unix://<socket_path>"} ...
        assert docker.violations == []
        docker.requests  # [(method, path), ...]

`containers` are (id, name, image, labels) tuples; `add_container()` starts one later (listed from
then on); `hidden` ones are only answered by the inspect endpoint, as a container started
between two lists.
"""

from __future__ import annotations

import json
import os
import re
import socketserver
import threading
from http.server import BaseHTTPRequestHandler
from typing import Optional
from urllib.parse import parse_qs, urlsplit

LIST_QUERY = {"all", "limit", "size", "filters"}  # ContainerList's documented query parameters
INSPECT_QUERY = {"size"}                          # ContainerInspect's


class _Server(socketserver.ThreadingMixIn, socketserver.UnixStreamServer):
    daemon_threads = True


class DockerApiServer:
    def __init__(self, socket_path: str, containers: list[tuple] = (), api_version: str = "1.43"):
        self.socket_path = socket_path
        self.api_version = api_version
        self.lock = threading.Lock()
        self.containers: dict[str, dict] = {}
        self.hidden: dict[str, dict] = {}
        self.requests: list[tuple[str, str]] = []
        self.violations: list[str] = []
        for c in containers:
            self.add_container(*c)

    @staticmethod
    def summary(cid: str, name: str, image: str, labels: dict) -> dict:
        # ContainerSummary, with every documented member a daemon fills.
        return {"Id": cid, "Names": ["/" + name], "Image": image,
                "ImageID": "sha256:" + "0" * 64, "Command": "/docker-entrypoint.sh nginx", "Created": 1700000000,
                "Ports": [{"PrivatePort": 80, "Type": "tcp"}], "Labels": labels, "State": "running",
                "Status": "Up 5 minutes", "HostConfig": {"NetworkMode": "bridge"},
                "NetworkSettings": {"Networks": {"bridge": {"IPAddress": "172.17.0.2"}}}, "Mounts": []}

    @staticmethod
    def inspection(cid: str, name: str, image: str, labels: dict) -> dict:
        # ContainerInspectResponse: the top-level Image is the image id; Config.Image the name.
        return {"Id": cid, "Created": "2023-11-14T22:13:20.123456789Z", "Path": "/docker-entrypoint.sh",
                "Args": ["nginx"], "State": {"Status": "running", "Running": True, "Pid": 4242},
                "Image": "sha256:" + "0" * 64, "Name": "/" + name, "RestartCount": 0, "Driver": "overlay2",
                "Config": {"Hostname": cid[:12], "Image": image, "Labels": labels}}

    def add_container(self, cid: str, name: str, image: str, labels: Optional[dict] = None, hidden: bool = False) -> None:
        entry = {"cid": cid, "name": name, "image": image, "labels": labels or {}}
        with self.lock:
            (self.hidden if hidden else self.containers)[cid] = entry

    def __enter__(self) -> "DockerApiServer":
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args) -> None:  # quiet
                pass

            def address_string(self) -> str:  # unix sockets have no peer address
                return "unix"

            def reply(self, status: int, body) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Api-Version", server.api_version)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def violation(self, status: int, why: str, body) -> None:
                with server.lock:
                    server.violations.append(f"{self.command} {self.path}: {why}")
                self.reply(status, body)

            def do_GET(self) -> None:
                url = urlsplit(self.path)
                query = parse_qs(url.query, keep_blank_values=True)
                with server.lock:
                    server.requests.append((self.command, self.path))
                if not self.headers.get("Host"):
                    return self.violation(400, "no Host header", {"message": "missing Host header"})
                if self.headers.get("Content-Length") not in (None, "0") or self.headers.get("Transfer-Encoding"):
                    return self.violation(400, "a GET with a body", {"message": "unexpected body"})
                if url.path == "/version":
                    if query:
                        return self.violation(400, f"unknown parameters {sorted(query)}", {"message": "bad request"})
                    return self.reply(200, {"Platform": {"Name": "Docker Engine - Community"}, "Version": "24.0.7",
                                            "ApiVersion": server.api_version, "MinAPIVersion": "1.12",
                                            "GitCommit": "311b9ff", "GoVersion": "go1.20.10", "Os": "linux",
                                            "Arch": "amd64", "KernelVersion": os.uname().release})
                m = re.fullmatch(r"/v(\d+\.\d+)(/containers/json|/containers/([^/]+)/json)", url.path)
                if not m:
                    return self.violation(404, "no such endpoint", {"message": "page not found"})
                version = tuple(int(x) for x in m.group(1).split("."))
                if version > tuple(int(x) for x in server.api_version.split(".")):
                    return self.violation(400, f"API version {m.group(1)} above the daemon's {server.api_version}",
                                          {"message": f"client version {m.group(1)} is too new. Maximum supported API "
                                                      f"version is {server.api_version}"})
                if m.group(3) is None:
                    if set(query) - LIST_QUERY:
                        return self.violation(400, f"unknown parameters {sorted(query)}", {"message": "bad request"})
                    with server.lock:
                        listed = [self_summary(c) for c in server.containers.values()]
                    return self.reply(200, listed)
                if set(query) - INSPECT_QUERY:
                    return self.violation(400, f"unknown parameters {sorted(query)}", {"message": "bad request"})
                cid = m.group(3)
                with server.lock:
                    c = server.containers.get(cid) or server.hidden.get(cid)
                if c is None:
                    return self.reply(404, {"message": f"No such container: {cid}"})
                return self.reply(200, server.inspection(c["cid"], c["name"], c["image"], c["labels"]))

            def refuse(self) -> None:
                with server.lock:
                    server.requests.append((self.command, self.path))
                self.violation(405, "add_docker_metadata only reads", {"message": "method not allowed"})

            do_POST = do_PUT = do_DELETE = do_HEAD = refuse

        def self_summary(c: dict) -> dict:
            return server.summary(c["cid"], c["name"], c["image"], c["labels"])

        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)
        self.server = _Server(self.socket_path, Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()
        if os.path.exists(self.socket_path):
            os.unlink(self.socket_path)

    def count(self, pattern: str) -> int:
        with self.lock:
            return sum(1 for _, path in self.requests if re.fullmatch(pattern, path))
