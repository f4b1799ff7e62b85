"""A fake cloud instance metadata service for end-to-end tests of add_cloud_metadata.

Serves one provider's documented endpoints on 127.0.0.1, port 0, with the checks the real
services make (IMDSv2 session token for aws, `Metadata-Flavor: Google` for gcp, `Metadata: true`
for azure), so a test can point fimbeat at it with

    processors:
      - add_cloud_metadata:
          host: "127.0.0.1:<port>"     # server.host
          providers: [aws]

Usage:

    with CloudMetadataServer("aws") as server:
        ... write the config with server.host, run fimbeat ...
        assert server.requests  # [(method, path), ...] as received

`CloudMetadataServer("blackhole")` accepts connections and never answers, to test the timeout.
The expected cloud.* fields for each provider are in EXPECTED_CLOUD.
"""

from __future__ import annotations

import json
import socket
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Optional
from urllib.parse import parse_qs, urlsplit

AWS_TOKEN = "AQAEAFakeImdsV2SessionToken=="

AWS_DOCUMENT = {
    "accountId": "123456789012", "architecture": "x86_64", "availabilityZone": "us-east-1c",
    "imageId": "ami-0abcdef1234567890", "instanceId": "i-1234567890abcdef0", "instanceType": "t3.medium",
    "pendingTime": "2024-01-01T00:00:00Z", "privateIp": "10.0.0.12", "region": "us-east-1", "version": "2017-09-30",
}
GCP_METADATA = {
    "instance": {"id": 5345263577383941187, "name": "fim-vm-1", "machineType": "projects/987654321/machineTypes/e2-medium",
                 "zone": "projects/987654321/zones/europe-west1-b"},
    "project": {"projectId": "acme-prod", "numericProjectId": 987654321},
}
AZURE_COMPUTE = {
    "location": "westeurope", "name": "fim-az-1", "resourceGroupName": "rg-fim",
    "subscriptionId": "8d10da13-8125-4ba9-a717-bf7490507b3d", "vmId": "02aab8a4-74ef-476e-8182-f6d2ba4166a6",
    "vmSize": "Standard_D2s_v5",
}
DIGITALOCEAN_METADATA = {"droplet_id": 2756294, "hostname": "sample-droplet", "region": "nyc3"}
OPENSTACK_TEXT = {
    "/2009-04-04/meta-data/instance-id": "i-0000abcd",
    "/2009-04-04/meta-data/instance-type": "m1.small",
    "/2009-04-04/meta-data/hostname": "fim-nova-1.novalocal",
    "/2009-04-04/meta-data/placement/availability-zone": "nova",
}
HETZNER_TEXT = {
    "/hetzner/v1/metadata/instance-id": "42424242",
    "/hetzner/v1/metadata/hostname": "fim-hz-1",
    "/hetzner/v1/metadata/availability-zone": "fsn1-dc14",
    "/hetzner/v1/metadata/region": "eu-central",
}

# What each provider's answer becomes in a document's cloud.* object.
EXPECTED_CLOUD = {
    "aws": {"provider": "aws", "region": "us-east-1", "availability_zone": "us-east-1c",
            "instance": {"id": "i-1234567890abcdef0"}, "machine": {"type": "t3.medium"},
            "account": {"id": "123456789012"}, "service": {"name": "EC2"}},
    "gcp": {"provider": "gcp", "availability_zone": "europe-west1-b",
            "instance": {"id": "5345263577383941187", "name": "fim-vm-1"}, "machine": {"type": "e2-medium"},
            "project": {"id": "acme-prod"}, "account": {"id": "acme-prod"}, "service": {"name": "GCE"}},
    "azure": {"provider": "azure", "region": "westeurope",
              "instance": {"id": "02aab8a4-74ef-476e-8182-f6d2ba4166a6", "name": "fim-az-1"},
              "machine": {"type": "Standard_D2s_v5"}, "account": {"id": "8d10da13-8125-4ba9-a717-bf7490507b3d"},
              "service": {"name": "Virtual Machines"}},
    "digitalocean": {"provider": "digitalocean", "region": "nyc3", "instance": {"id": "2756294"},
                     "service": {"name": "Droplets"}},
    "openstack": {"provider": "openstack", "availability_zone": "nova",
                  "instance": {"id": "i-0000abcd", "name": "fim-nova-1.novalocal"}, "machine": {"type": "m1.small"},
                  "service": {"name": "Nova"}},
    "hetzner": {"provider": "hetzner", "region": "eu-central", "availability_zone": "fsn1-dc14",
                "instance": {"id": "42424242", "name": "fim-hz-1"}, "service": {"name": "Cloud"}},
}

PROVIDERS = tuple(EXPECTED_CLOUD) + ("blackhole",)


class _Handler(BaseHTTPRequestHandler):
    server: "_Server"

    def log_message(self, format: str, *args) -> None:  # keep pytest output clean
        pass

    def _reply(self, status: int, body: str = "", content_type: str = "text/plain",
               headers: Optional[dict] = None) -> None:
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)

    def _record(self) -> tuple[str, dict]:
        url = urlsplit(self.path)
        with self.server.lock:
            self.server.requests.append((self.command, self.path))
        return url.path, parse_qs(url.query)

    def do_PUT(self) -> None:
        path, _ = self._record()
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(length)
        if self.server.provider == "aws" and path == "/latest/api/token":
            if not self.headers.get("X-aws-ec2-metadata-token-ttl-seconds"):
                return self._reply(400)
            return self._reply(200, AWS_TOKEN)
        self._reply(404)

    def do_GET(self) -> None:
        path, query = self._record()
        provider = self.server.provider
        if provider == "aws" and path == "/latest/dynamic/instance-identity/document":
            if self.headers.get("X-aws-ec2-metadata-token") != AWS_TOKEN:
                return self._reply(401)  # IMDSv2 in required mode
            return self._reply(200, json.dumps(AWS_DOCUMENT))
        if provider == "gcp" and path == "/computeMetadata/v1/":
            if self.headers.get("Metadata-Flavor") != "Google" or query.get("recursive") != ["true"]:
                return self._reply(403)
            return self._reply(200, json.dumps(GCP_METADATA), "application/json", {"Metadata-Flavor": "Google"})
        if provider == "azure" and path == "/metadata/instance/compute":
            if self.headers.get("Metadata") != "true" or "api-version" not in query:
                return self._reply(400)
            return self._reply(200, json.dumps(AZURE_COMPUTE), "application/json")
        if provider == "digitalocean" and path == "/metadata/v1.json":
            return self._reply(200, json.dumps(DIGITALOCEAN_METADATA), "application/json")
        texts = OPENSTACK_TEXT if provider == "openstack" else HETZNER_TEXT if provider == "hetzner" else {}
        if path in texts:
            return self._reply(200, texts[path])
        self._reply(404)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    # fimbeat asks every provider at once (a dozen connections); socketserver's backlog of 5 can
    # overflow on a busy machine, and a dropped SYN is retried only after a second or more.
    request_queue_size = 128

    def __init__(self, provider: str):
        super().__init__(("127.0.0.1", 0), _Handler)
        self.provider = provider
        self.lock = threading.Lock()
        self.requests: list[tuple[str, str]] = []


class CloudMetadataServer:
    """One provider's metadata service on 127.0.0.1:<ephemeral port>; a context manager."""

    def __init__(self, provider: str):
        if provider not in PROVIDERS:
            raise ValueError(f"unknown provider {provider!r}; one of {', '.join(PROVIDERS)}")
        self.provider = provider
        self._server: Optional[_Server] = None
        self._hole: Optional[socket.socket] = None
        self._thread: Optional[threading.Thread] = None

    def __enter__(self) -> "CloudMetadataServer":
        if self.provider == "blackhole":
            self._hole = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            self._hole.bind(("127.0.0.1", 0))
            self._hole.listen(64)  # connections complete in the kernel and are never answered
        else:
            self._server = _Server(self.provider)
            self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
            self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._thread.join()
        if self._hole is not None:
            self._hole.close()

    @property
    def port(self) -> int:
        sock = self._hole if self._hole is not None else self._server.socket
        return sock.getsockname()[1]

    @property
    def host(self) -> str:
        """The value for add_cloud_metadata's `host` option."""
        return f"127.0.0.1:{self.port}"

    @property
    def requests(self) -> list[tuple[str, str]]:
        if self._server is None:
            return []
        with self._server.lock:
            return list(self._server.requests)
