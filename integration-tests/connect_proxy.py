"""A forward proxy that tunnels, as curl uses one for https:// URLs (RFC 9110 §9.3.6 CONNECT): it
reads `CONNECT host:port HTTP/1.1` and its headers, answers 407 when a header it requires is
missing or wrong, opens the connection, answers `200 Connection established` and copies bytes both
ways until either side closes. Any other method gets 405: the proxy never sees what the client
sends inside the tunnel. `connects` records each CONNECT's target and headers."""

from __future__ import annotations

import select
import socket
import threading
from typing import Optional


class ConnectProxy:
    def __init__(self, required_headers: Optional[dict[str, str]] = None):
        self.required_headers = dict(required_headers or {})
        self.lock = threading.Lock()
        self.connects: list[dict] = []  # {"target": "host:port", "headers": {lower-case name: value}, "status": int}
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port = self._listener.getsockname()[1]
        self._stopped = False
        threading.Thread(target=self._accept, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def count(self, target_port: Optional[int] = None) -> int:
        with self.lock:
            return sum(1 for c in self.connects if c["status"] == 200
                       and (target_port is None or c["target"].endswith(f":{target_port}")))

    def stop(self) -> None:
        self._stopped = True
        self._listener.close()

    def _accept(self) -> None:
        while not self._stopped:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = None
        try:
            head = b""
            while b"\r\n\r\n" not in head:
                data = client.recv(4096)
                if not data:
                    return
                head += data
            head, rest = head.split(b"\r\n\r\n", 1)
            lines = head.decode("latin-1").split("\r\n")
            method, target, _ = lines[0].split(" ", 2)
            headers = {}
            for line in lines[1:]:
                name, _, value = line.partition(":")
                headers[name.strip().lower()] = value.strip()
            record = {"target": target, "headers": headers, "status": 0}
            with self.lock:
                self.connects.append(record)
            if method != "CONNECT":
                record["status"] = 405
                client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            if any(headers.get(k.lower()) != v for k, v in self.required_headers.items()):
                record["status"] = 407
                client.sendall(b"HTTP/1.1 407 Proxy Authentication Required\r\nContent-Length: 0\r\n"
                               b"Connection: close\r\n\r\n")
                return
            host, _, port = target.rpartition(":")
            try:
                upstream = socket.create_connection((host.strip("[]"), int(port)), timeout=10)
            except OSError:
                record["status"] = 502
                client.sendall(b"HTTP/1.1 502 Bad Gateway\r\nContent-Length: 0\r\nConnection: close\r\n\r\n")
                return
            upstream.settimeout(None)
            record["status"] = 200
            client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
            if rest:
                upstream.sendall(rest)
            self._pipe(client, upstream)
        except OSError:
            pass
        finally:
            client.close()
            if upstream:
                upstream.close()

    def _pipe(self, a: socket.socket, b: socket.socket) -> None:
        peers = {a: b, b: a}
        while not self._stopped:
            ready, _, _ = select.select(list(peers), [], [], 0.5)
            for sock in ready:
                data = sock.recv(65536)
                if not data:
                    return
                peers[sock].sendall(data)
