"""Monitoring like a Beat: the HTTP endpoint (on an ephemeral port or a unix socket, as several test
runs share this machine), its figures moving as files change, the periodic and final metrics log
lines with a structured `monitoring.metrics` object, 405 for other methods, a port in use, and no
secret in any answer."""

from __future__ import annotations

import json
import re
import socket
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, read_events, run_cli, wait_for, write_config, yaml_str

ENDPOINTS = ("/", "/stats", "/state", "/metrics", "/health")


def config_text(watched: Path, out: Path, http: str, period: str = "1s", extra: str = "") -> str:
    return f"""\
fimbeat.modules:
  - module: file_integrity
    paths: [{yaml_str(watched)}]
    recursive: true
output.file:
  path: {yaml_str(out)}
logging.metrics.period: {period}
{http}
{extra}
"""


def endpoint_address(agent) -> str:
    """host:port or socket path from "Metrics endpoint listening on: ADDRESS (configured: ...)"."""
    def found():
        for message in agent.log_messages():
            m = re.match(r"Metrics endpoint listening on: (\S+) \(configured: ", message)
            if m:
                return m.group(1)
        return None
    return wait_for(found, message="the monitoring endpoint's address in the log", agent=agent)


def get(address: str, path: str, method: str = "GET") -> tuple[int, str, str]:
    request = urllib.request.Request(f"http://{address}{path}", method=method, data=b"{}" if method != "GET" else None)
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.headers.get("Content-Type", ""), response.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.headers.get("Content-Type", ""), e.read().decode()


def stats(address: str) -> dict:
    status, content_type, body = get(address, "/stats")
    assert status == 200 and content_type.startswith("application/json"), (status, body)
    return json.loads(body)


def prometheus(address: str) -> dict[str, float]:
    status, content_type, body = get(address, "/metrics")
    assert status == 200 and content_type.startswith("text/plain; version=0.0.4"), (status, body)
    samples = {}
    for line in body.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    return samples


@pytest.fixture
def watched(workspace: Path) -> Path:
    root = workspace / "watched"
    root.mkdir()
    (root / "a.txt").write_text("one\n")
    return root


def test_stats_and_metrics_move_when_files_change(workspace, watched, start_agent):
    out = workspace / "events"
    config = write_config(workspace / "fimbeat.yml", config_text(watched, out, "http.enabled: true\nhttp.port: 0"))
    agent = start_agent(config)
    address = endpoint_address(agent)
    assert address.startswith("127.0.0.1:")  # localhost is 127.0.0.1, as for Beats
    wait_for(agent.scan_done, message="the first scan", agent=agent)

    status, _, body = get(address, "/")
    info = json.loads(body)
    assert status == 200 and info["beat"] == "fimbeat"
    assert set(info) >= {"beat", "hostname", "name", "uuid", "version", "ephemeral_id"}
    first = wait_for(lambda: (s := stats(address))["libbeat"]["output"]["events"]["acked"] >= 1 and s,
                     message="the scan's event acknowledged", agent=agent)
    assert first["beat"]["info"]["ephemeral_id"] == info["ephemeral_id"]
    assert first["beat"]["memstats"]["rss"] > 0 and first["beat"]["info"]["uptime"]["ms"] > 0
    before = prometheus(address)

    for i in range(3):
        (watched / f"new-{i}.txt").write_text(f"{i}\n")
    acked = first["libbeat"]["output"]["events"]["acked"]
    later = wait_for(lambda: (s := stats(address))["libbeat"]["output"]["events"]["acked"] >= acked + 3 and s,
                     message="three more events acknowledged in /stats", agent=agent)
    assert later["libbeat"]["pipeline"]["events"]["total"] >= first["libbeat"]["pipeline"]["events"]["total"] + 3
    assert later["fimbeat"]["watcher"]["realtime"]["changes"] > first["fimbeat"]["watcher"]["realtime"]["changes"]
    after = wait_for(lambda: (p := prometheus(address))["fimbeat_output_events_acked_total"]
                     >= before["fimbeat_output_events_acked_total"] + 3 and p,
                     message="three more events in /metrics", agent=agent)
    assert after["fimbeat_output_write_bytes_total"] > before["fimbeat_output_write_bytes_total"]
    assert after["process_resident_memory_bytes"] > 0

    state = json.loads(get(address, "/state")[2])
    assert state["output"]["name"] == "file" and state["module"]["count"] == 1
    assert state["management"] == {"enabled": False}  # standalone
    status, _, body = get(address, "/health")
    assert status == 200 and json.loads(body)["status"] in ("HEALTHY", "STARTING")
    for path in ENDPOINTS:
        assert get(address, path, method="POST")[0] == 405
        assert get(address, path, method="DELETE")[0] == 405

    # The periodic line: "Non-zero metrics in the last 1s" with an object of the deltas, not a string.
    def periodic_with_acks():
        for record in agent.log_records():
            if record["message"] == "Non-zero metrics in the last 1s":
                metrics = record["monitoring"]["metrics"]
                assert isinstance(metrics, dict)
                if metrics.get("libbeat", {}).get("output", {}).get("events", {}).get("acked", 0) > 0:
                    return record
        return None
    line = wait_for(periodic_with_acks, message="a periodic metrics line counting acknowledged events", agent=agent)
    assert line["monitoring"]["health"]["status"] in ("HEALTHY", "STARTING")
    assert "failed" not in line["monitoring"]["metrics"]["libbeat"]["output"]["events"]  # zero deltas are left out

    assert agent.stop() == 0
    totals = [r for r in agent.log_records() if r["message"] == "Total metrics"]
    assert len(totals) == 1
    total = totals[0]["monitoring"]["metrics"]
    assert total["libbeat"]["output"]["events"]["acked"] == len(read_events(out))
    assert total["fimbeat"]["output"]["events"]["acked"] == len(read_events(out))
    with pytest.raises(OSError):
        get(address, "/")


def test_the_kubernetes_liveness_probe_passes_against_a_running_agent(workspace, watched, start_agent):
    yaml = pytest.importorskip("yaml", reason="python3-yaml is not installed")
    docs = list(yaml.safe_load_all((REPO / "deploy/kubernetes/fimbeat-daemonset.yaml").read_text()))
    probe = next(d for d in docs if d["kind"] == "DaemonSet")["spec"]["template"]["spec"]["containers"][0][
        "livenessProbe"]["exec"]["command"]
    config = write_config(workspace / "fimbeat.yml", config_text(watched, workspace / "events",
                                                                 "http.enabled: true\nhttp.port: 0"))
    agent = start_agent(config)
    port = endpoint_address(agent).rsplit(":", 1)[1]
    command = [part.replace("127.0.0.1/5066", f"127.0.0.1/{port}") for part in probe]
    assert subprocess.run(command, timeout=10).returncode == 0
    agent.stop()
    assert subprocess.run(command, timeout=10, stderr=subprocess.DEVNULL).returncode != 0


def unix_get(path: str, target: str) -> str:
    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(5)
        s.connect(path)
        s.sendall(f"GET {target} HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n".encode())
        chunks = []
        while chunk := s.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks).decode()


def test_unix_socket_endpoint(workspace, watched, start_agent):
    sock = workspace / "fimbeat.sock"
    config = write_config(workspace / "fimbeat.yml", config_text(
        watched, workspace / "events", f"http.enabled: true\nhttp.host: {yaml_str('unix://' + str(sock))}"))
    agent = start_agent(config)
    assert endpoint_address(agent) == str(sock)
    assert (sock.stat().st_mode & 0o777) == 0o600
    response = unix_get(str(sock), "/stats")
    assert response.startswith("HTTP/1.1 200")
    assert "libbeat" in json.loads(response.split("\r\n\r\n", 1)[1])
    assert agent.stop() == 0
    assert not sock.exists()


def test_a_port_in_use_is_a_clear_start_up_error(workspace, watched, start_agent):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        config = write_config(workspace / "fimbeat.yml", config_text(
            watched, workspace / "events", f"http.enabled: true\nhttp.host: 127.0.0.1\nhttp.port: {port}"))
        agent = start_agent(config)
        assert agent.wait_exit(15) == 1
    stderr = agent.stderr_text()
    assert f"http.port {port}" in stderr and "Address already in use" in stderr, stderr


def test_disabled_by_default_and_nothing_reveals_secrets(workspace, watched, start_agent, fimbeat_bin):
    secret = "hunter2-do-not-show"
    out = workspace / "events"
    plain = write_config(workspace / "plain.yml", config_text(watched, out, ""))
    agent = start_agent(plain, name="plain")
    wait_for(agent.scan_done, message="the first scan", agent=agent)
    assert not any("Metrics endpoint" in m for m in agent.log_messages())
    agent.stop()

    # Elasticsearch that refuses connections: the agent runs, degraded, with a password and an API key set.
    config = write_config(workspace / "fimbeat.yml", f"""\
fimbeat.modules:
  - module: file_integrity
    paths: [{yaml_str(watched)}]
output.elasticsearch:
  hosts: ["http://127.0.0.1:1"]
  username: elastic
  password: "${{ES_PWD}}"
  backoff.init: 100ms
  backoff.max: 200ms
http.enabled: true
http.port: 0
""")
    env = dict(agent.env, ES_PWD=secret)
    fresh_home = workspace / "home-es"  # a new baseline: the scan's events go to the refusing output
    fresh_home.mkdir()
    agent = start_agent(config, env=env, name="secret", home=fresh_home)
    address = endpoint_address(agent)
    health = wait_for(lambda: (h := get(address, "/health"))[0] == 503 and h, timeout=30,
                      message="/health reporting the output's failure", agent=agent)
    assert json.loads(health[2])["units"]["output"]["status"] == "DEGRADED"
    for path in ENDPOINTS:
        status, _, body = get(address, path)
        assert secret not in body, f"{path} reveals the password"
    assert secret not in agent.stderr_text()
    agent.stop()
