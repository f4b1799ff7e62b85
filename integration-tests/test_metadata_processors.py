"""add_observer_metadata, add_process_metadata, add_docker_metadata, add_kubernetes_metadata and
process.entity_id, end to end with the real binary (issue 19).

Docker and Kubernetes cannot be installed here: their APIs are strict stand-ins that follow the
Docker Engine API reference v1.43 (docker_api_server.py, on a unix socket) and the Kubernetes API
reference v1.28 (kubernetes_api_server.py, HTTPS with a bearer token), and reject anything else.
add_process_metadata reads a real process (a `sleep` the test starts) whose pid an add_fields
processor puts in the event, so that it runs with any backend; process.entity_id needs who-data
(fanotify) and is skipped where fanotify cannot run.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import os
import shutil
import socket
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import REPO, wait_for, write_config, yaml_str
from docker_api_server import DockerApiServer
from kubernetes_api_server import KubernetesApiServer, pod
from test_ecs import Run, Schema, check_all, config_text, get
from test_fanotify import fanotify_usable

SCHEMA = Schema(REPO / "fields" / "fields.yml")
CID = "4f1e2d3c4b5a69788796a5b4c3d2e1f04f1e2d3c4b5a69788796a5b4c3d2e1f0"
LATER = "9a8b7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9"


# inotify (Auditbeat's fsnotify): no who-data, so the events hold only what the processors put there.
INOTIFY = "  backend: fsnotify\n"


def start(workspace: Path, start_agent, name: str, processors: str, module: str = INOTIFY, **kwargs) -> tuple[Run, Path]:
    root = workspace / f"tree-{name}"
    root.mkdir()
    out = workspace / f"out-{name}"
    top = f"processors:\n{processors}"
    run = Run.start(workspace, start_agent, name, config_text([root], out, top, module), out, **kwargs)
    wait_for(run.agent.scan_done, message="the start-up scan", agent=run.agent)
    return run, root


def machine_id() -> str:
    for path in ("/etc/machine-id", "/var/lib/dbus/machine-id"):
        try:
            return Path(path).read_text().strip()
        except OSError:
            continue
    return ""


def start_time_and_entity_id(pid: int) -> tuple[float, str]:
    """Beats' start time (boot time + ticks / 100 in float64) and entity id of a live process."""
    btime = next(int(line.split()[1]) for line in Path("/proc/stat").read_text().splitlines() if line.startswith("btime "))
    stat = Path(f"/proc/{pid}/stat").read_text()
    ticks = int(stat[stat.rindex(")") + 2:].split()[19])  # field 22
    nanos = int(ticks / 100 * 1e9)  # Go: float64(ticks) / float64(userHz) * float64(time.Second)
    total = btime * 1_000_000_000 + nanos
    digest = hashlib.sha256(machine_id().encode() + struct.pack("<q", pid) + struct.pack("<q", total % 1_000_000_000))
    return total / 1e9, base64.b64encode(digest.digest()[:12]).decode().rstrip("=")


# ---------------------------------------------------------------------------------------------
# add_observer_metadata


def test_observer_metadata_names_this_host_with_its_addresses_and_geo(workspace, start_agent):
    run, root = start(workspace, start_agent, "observer",
                      "  - add_observer_metadata:\n      geo: {name: nyc-dc1-rack1, location: '40.7128, -74.0060', "
                      "city_name: New York, country_iso_code: US, region_name: '  '}\n")
    (root / "a.txt").write_bytes(b"a\n")
    doc = run.wait_doc(root / "a.txt", "created")
    run.stop()
    check_all(run.docs(), SCHEMA)
    observer = doc["observer"]
    assert observer["hostname"] == socket.gethostname()
    assert observer["ip"] == doc["host"]["ip"] and observer["mac"] == doc["host"]["mac"]
    assert observer["geo"] == {"name": "nyc-dc1-rack1", "location": "40.7128, -74.0060", "city_name": "New York",
                               "country_iso_code": "US"}


# ---------------------------------------------------------------------------------------------
# add_process_metadata


def test_process_metadata_reads_proc_for_the_pid_in_the_event(workspace, start_agent):
    sleeper = subprocess.Popen(["sleep", "300"])
    try:
        started, entity_id = start_time_and_entity_id(sleeper.pid)
        run, root = start(workspace, start_agent, "process",
                          f"  - add_fields: {{fields: {{pid: {sleeper.pid}, gone: 999999999}}}}\n"
                          "  - add_process_metadata: {match_pids: [fields.missing, fields.pid]}\n"
                          "  - add_process_metadata: {match_pids: [fields.gone], target: fields.nobody}\n")
        (root / "p.txt").write_bytes(b"p\n")
        doc = run.wait_doc(root / "p.txt", "created")
        metrics = run.stop()
    finally:
        sleeper.kill()
        sleeper.wait()
    check_all(run.docs(), SCHEMA)
    process = doc["process"]
    assert process["pid"] == sleeper.pid
    assert process["name"] == "sleep"
    assert process["executable"] == os.path.realpath(shutil.which("sleep"))
    assert process["args"] == ["sleep", "300"] and process["title"] == "sleep 300"
    assert process["parent"]["pid"] == os.getpid()
    assert process["owner"]["id"] == str(os.getuid())
    assert process["entity_id"] == entity_id
    when = datetime.datetime.fromisoformat(process["start_time"].replace("Z", "+00:00")).timestamp()
    assert round(when * 1000) == round(started * 1000)  # the same millisecond as Beats' float arithmetic gives
    assert "env" not in process
    assert "nobody" not in doc["fields"], "a pid no process has adds nothing"
    assert metrics["enricher"]["processors"]["failures"] >= 1  # counted for the missing process, as Beats errs


# ---------------------------------------------------------------------------------------------
# process.entity_id (who-data)


def test_live_events_carry_the_writers_entity_id(workspace, start_agent):
    if reason := fanotify_usable():
        pytest.skip(reason)
    run, root = start(workspace, start_agent, "entity", "  - add_tags: {tags: [who]}\n", module="  backend: fanotify\n")
    writer = subprocess.Popen([sys.executable, "-c",
                               "import sys; open(sys.argv[1], 'w').write('x'); sys.stdin.read()", str(root / "w.txt")],
                              stdin=subprocess.PIPE)
    try:
        wait_for(lambda: (root / "w.txt").exists(), message="the writer's file")
        started, entity_id = start_time_and_entity_id(writer.pid)
        doc = run.wait_doc(root / "w.txt", "created")
    finally:
        writer.communicate(b"")
    run.stop()
    check_all(run.docs(), SCHEMA)
    assert doc["process"]["pid"] == writer.pid
    assert doc["process"]["entity_id"] == entity_id
    when = datetime.datetime.fromisoformat(doc["process"]["start"].replace("Z", "+00:00")).timestamp()
    # Both sides come from a float of seconds (since boot, since the epoch): the millisecond may
    # round either way.
    assert abs(round(when * 1000) - round(started * 1000)) <= 1, (when, started)


# ---------------------------------------------------------------------------------------------
# add_docker_metadata


def test_docker_metadata_from_the_engine_api_over_its_unix_socket(workspace, start_agent):
    sock = str(workspace / "docker.sock")
    with DockerApiServer(sock, containers=[(CID, "web", "nginx:1.25", {"com.example.tier": "front", "app": "shop"})],
                         api_version="1.41") as docker:
        run, root = start(workspace, start_agent, "docker",
                          f"  - add_fields: {{target: '', fields: {{container.id: {CID}}}}}\n"
                          f"  - add_docker_metadata: {{host: 'unix://{sock}', match_fields: [container.id]}}\n")
        run.wait_log("add_docker_metadata: connected to docker")
        (root / "d.txt").write_bytes(b"d\n")
        doc = run.wait_doc(root / "d.txt", "created")
        assert docker.count(r"/v1\.41/containers/[0-9a-f]{64}/json") == 0  # listed at start: no inspection
        run.stop()
        check_all(run.docs(), SCHEMA)
        assert docker.violations == []
        assert ("GET", "/version") in docker.requests
        assert ("GET", "/v1.41/containers/json") in docker.requests  # the daemon's lower API version
    assert doc["container"] == {"id": CID, "name": "web", "image": {"name": "nginx:1.25"},
                                "labels": {"com_example_tier": "front", "app": "shop"}}


def test_docker_container_started_after_the_list_is_inspected_when_first_named(workspace, start_agent):
    sock = str(workspace / "docker.sock")
    with DockerApiServer(sock) as docker:
        run, root = start(workspace, start_agent, "docker-late",
                          f"  - add_fields: {{target: '', fields: {{container.id: {LATER}}}, "
                          "when.contains.file.path: late.txt}\n"
                          f"  - add_docker_metadata: {{host: 'unix://{sock}', match_fields: [container.id], "
                          "labels.dedot: false}\n")
        run.wait_log("add_docker_metadata: connected to docker")
        docker.add_container(LATER, "batch", "busybox:1.36", {"com.example.tier": "back"})
        (root / "late.txt").write_bytes(b"late\n")
        doc = run.wait_doc(root / "late.txt", "created")
        run.stop()
        assert docker.violations == []
        assert docker.count(rf"/v1\.43/containers/{LATER}/json") == 1
    assert doc["container"]["name"] == "batch"
    assert doc["container"]["image"]["name"] == "busybox:1.36"
    assert doc["container"]["labels"] == {"com": {"example": {"tier": "back"}}}


def test_docker_socket_missing_at_start_is_a_warning_naming_it_and_events_still_flow(workspace, start_agent):
    sock = workspace / "no-docker.sock"
    run, root = start(workspace, start_agent, "docker-missing",
                      f"  - add_docker_metadata: {{host: 'unix://{sock}', wait_for_metadata_timeout: 1s, "
                      "wait_for_metadata_retry_period: 1s}\n")
    warning = run.wait_log("add_docker_metadata: could not connect to docker")
    assert f"unix://{sock}" in warning
    (root / "m.txt").write_bytes(b"m\n")
    doc = run.wait_doc(root / "m.txt", "created")
    run.wait_log("add_docker_metadata: stopped retrying docker")
    run.stop()
    assert "container" not in doc


# ---------------------------------------------------------------------------------------------
# add_kubernetes_metadata


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture
def pki(workspace: Path) -> Path:
    """A CA and a server certificate for 127.0.0.1 signed by it."""
    d = workspace / "pki"
    d.mkdir()
    openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", "/CN=kubernetes test CA",
            "-keyout", str(d / "ca.key"), "-out", str(d / "ca.crt"))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=kube-apiserver", "-keyout", str(d / "server.key"),
            "-out", str(d / "server.csr"))
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.crt"), "-CAkey", str(d / "ca.key"),
            "-CAcreateserial", "-days", "2", "-extfile", str(d / "san.ext"), "-out", str(d / "server.crt"))
    return d


def kubeconfig(path: Path, server: str, ca: Path, token_file: Path) -> Path:
    path.write_text(f"""\
apiVersion: v1
kind: Config
current-context: fim
contexts:
- name: fim
  context: {{cluster: test, user: fimbeat, namespace: shop}}
clusters:
- name: test
  cluster: {{server: "{server}", certificate-authority: "{ca}"}}
users:
- name: fimbeat
  user: {{tokenFile: "{token_file}"}}
""")
    return path


NODE = {"metadata": {"name": "node-1", "uid": "node-uid-1", "labels": {"kubernetes.io/os": "linux"}},
        "status": {"addresses": [{"type": "InternalIP", "address": "10.0.0.1"}, {"type": "Hostname", "address": "node-1"}],
                   "nodeInfo": {"machineID": "0" * 32}}}
NAMESPACE = {"metadata": {"name": "shop", "uid": "ns-uid-1", "labels": {"team": "payments"}}}


def test_kubernetes_metadata_from_the_api_with_token_and_ca_from_kube_config(workspace, start_agent, pki):
    token = workspace / "token"
    token.write_text("first-token\n")
    web = pod("web-7d4b9c8f5-abcde", "shop", "node-1", "pod-uid-1", CID, labels={"app.kubernetes.io/name": "web"},
              annotations={"team": "payments", "other": "x"})
    elsewhere = pod("db-0", "shop", "node-2", "pod-uid-2", LATER)
    with KubernetesApiServer(str(pki / "server.crt"), str(pki / "server.key"), "first-token", pods=[web, elsewhere],
                             nodes=[NODE], namespaces=[NAMESPACE]) as api:
        config = kubeconfig(workspace / "kubeconfig", api.url, pki / "ca.crt", token)
        run, root = start(workspace, start_agent, "k8s",
                          f"  - add_fields: {{target: '', fields: {{container.id: {CID}}}}}\n"
                          f"  - add_kubernetes_metadata: {{kube_config: {yaml_str(config)}, node: node-1, "
                          "include_annotations: ['^team$'], sync_period: 1s}\n")
        run.wait_log("add_kubernetes_metadata: watching the pods of node node-1")
        (root / "k.txt").write_bytes(b"k\n")
        doc = run.wait_doc(root / "k.txt", "created")
        # The token file is read again for each request (kubelet rotates it): the server takes both
        # while the file changes, then only the new one.
        api.accept("first-token", "second-token")
        token.write_text("second-token\n")
        wait_for(lambda: "second-token" in api.tokens_seen, message="a request with the new token", agent=run.agent)
        api.accept("second-token")
        lists = api.count("/api/v1/pods")
        wait_for(lambda: api.count("/api/v1/pods") >= lists + 2, timeout=30, message="two lists after the rotation",
                 agent=run.agent)
        run.stop()
        check_all(run.docs(), SCHEMA)
        assert api.violations == []
        listed = [q for p, q in api.requests if p == "/api/v1/pods"]
        assert listed and all(q == {"fieldSelector": ["spec.nodeName=node-1"]} for q in listed), listed
    k = doc["kubernetes"]
    assert k["pod"] == {"name": "web-7d4b9c8f5-abcde", "uid": "pod-uid-1", "ip": "10.244.1.7"}
    assert k["namespace"] == "shop" and k["namespace_uid"] == "ns-uid-1" and k["namespace_labels"] == {"team": "payments"}
    assert k["node"] == {"name": "node-1", "uid": "node-uid-1", "labels": {"kubernetes_io/os": "linux"}, "hostname": "node-1"}
    assert k["labels"] == {"app_kubernetes_io/name": "web"}
    assert k["annotations"] == {"team": "payments"}
    assert k["replicaset"] == {"name": "web-7d4b9c8f5"}
    assert k["container"] == {"name": "nginx"}
    assert doc["container"] == {"id": CID, "runtime": "containerd", "image": {"name": "docker.io/library/nginx:1.25"}}


def test_kubernetes_pod_started_after_the_list_is_found_by_the_next(workspace, start_agent, pki):
    token = workspace / "token"
    token.write_text("t0k3n")
    with KubernetesApiServer(str(pki / "server.crt"), str(pki / "server.key"), "t0k3n", nodes=[NODE],
                             namespaces=[NAMESPACE]) as api:
        config = kubeconfig(workspace / "kubeconfig", api.url, pki / "ca.crt", token)
        run, root = start(workspace, start_agent, "k8s-late",
                          f"  - add_fields: {{target: '', fields: {{container.id: {LATER}}}}}\n"
                          f"  - add_kubernetes_metadata: {{kube_config: {yaml_str(config)}, node: node-1, sync_period: 1s}}\n")
        run.wait_log("add_kubernetes_metadata: watching the pods of node node-1")
        api.add_pod(pod("batch-5f6d7c8b9-xyz12", "shop", "node-1", "pod-uid-3", LATER))
        lists = api.count("/api/v1/pods")
        # Two lists: the first one after the pod started has ended (and been taken in) when the next begins.
        wait_for(lambda: api.count("/api/v1/pods") > lists + 1, timeout=30, message="a list after the pod started",
                 agent=run.agent)
        (root / "late.txt").write_bytes(b"late\n")
        doc = run.wait_doc(root / "late.txt", "created")
        run.stop()
        assert api.violations == []
    assert doc["kubernetes"]["pod"]["name"] == "batch-5f6d7c8b9-xyz12"


def test_kubernetes_wrong_token_is_refused_and_said_and_in_cluster_without_a_service_account_too(workspace, start_agent, pki):
    token = workspace / "token"
    token.write_text("tok-0b5e7c-wrong")
    with KubernetesApiServer(str(pki / "server.crt"), str(pki / "server.key"), "tok-right", nodes=[NODE]) as api:
        config = kubeconfig(workspace / "kubeconfig", api.url, pki / "ca.crt", token)
        run, root = start(workspace, start_agent, "k8s-401",
                          f"  - add_kubernetes_metadata: {{kube_config: {yaml_str(config)}, node: node-1}}\n")
        warning = run.wait_log("add_kubernetes_metadata: listing pods")
        assert "HTTP 401" in warning and api.url in warning
        (root / "x.txt").write_bytes(b"x\n")
        doc = run.wait_doc(root / "x.txt", "created")
        run.stop()
        assert "kubernetes" not in doc
        assert "tok-0b5e7c" not in run.agent.stderr_text() + run.agent.stdout_bytes().decode(errors="replace")
    if Path("/var/run/secrets/kubernetes.io/serviceaccount/token").exists():
        return  # really in a cluster: the in-cluster warning cannot be seen here
    env = dict(os.environ, KUBERNETES_SERVICE_HOST="127.0.0.1", KUBERNETES_SERVICE_PORT="1")
    env.pop("KUBECONFIG", None)
    run, _ = start(workspace, start_agent, "k8s-in-cluster", "  - add_kubernetes_metadata: ~\n", env=env)
    said = run.wait_log("add_kubernetes_metadata: in-cluster")
    assert "/var/run/secrets/kubernetes.io/serviceaccount/token" in said
    run.stop()
