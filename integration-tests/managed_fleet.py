"""A fimbeat managed by Fleet, for the Fleet integration tests (test_fleet.py, test_fleet_faults.py):
a workspace with a local config, `enroll`, `run` and `status` against the Fleet Server stand-in
(fleet_endpoint.py) and the Elasticsearch stand-in (es_endpoint.py)."""

from __future__ import annotations

import json
import socket
import subprocess
from pathlib import Path

from conftest import Agent, run_cli, wait_for, write_config
from es_endpoint import EsEndpoint
from fleet_endpoint import FleetServer, fim_policy

POLICY = "6f2b1c70-fim"

LOCAL_CONFIG = """\
fleet.checkin.min_interval: 2s
fleet.backoff.init: 200ms
fleet.backoff.max: 1s
fleet.unauthorized_limit: 2
fleet.revoked_interval: 3s
queue.min_free: 0
"""


class Managed:
    """A workspace with a managed fimbeat: local config, enroll, run, status."""

    def __init__(self, binary: Path, workspace: Path, fleet: FleetServer, es: EsEndpoint, config: str = LOCAL_CONFIG):
        self.binary, self.workspace, self.fleet, self.es = binary, workspace, fleet, es
        self.home = workspace / "home"
        self.config = write_config(workspace / "fimbeat.yml", config)
        self.tree = workspace / "tree"
        self.tree.mkdir(exist_ok=True)
        self.agents: list[Agent] = []

    def cli(self, *args: str, timeout: float = 30.0) -> subprocess.CompletedProcess:
        return run_cli(self.binary, *args, "-c", self.config, "--path.home", self.home, timeout=timeout)

    def enroll(self, token: str, *extra: str, urls: tuple[str, ...] = (), timeout: float = 30.0) -> subprocess.CompletedProcess:
        flags = [a for u in (urls or (self.fleet.url,)) for a in ("--url", u)]
        return self.cli("enroll", *flags, "--enrollment-token", token, *extra, timeout=timeout)

    def status(self) -> dict:
        out = self.cli("status", "--json")
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    def start(self) -> Agent:
        agent = Agent(self.binary, self.workspace, self.config, home=self.home, name=f"agent{len(self.agents)}")
        self.agents.append(agent)
        return agent.start()

    def meta_id(self) -> str:
        return json.loads((self.home / "data" / "meta.json").read_text())["uuid"]

    def paths_in(self, namespace: str = "default") -> set[str]:
        return {d["file"]["path"] for d in self.es.documents(f"logs-fim.event-{namespace}")}

    def kill_all(self) -> None:
        for agent in self.agents:
            agent.kill()


def acked(fleet: FleetServer, action_id: str):
    return lambda: fleet.ack_count(action_id) >= 1


def secrets_of(fleet: FleetServer, token: str) -> list[str]:
    agent = fleet.agent()
    return [token, agent.access_key, *[k.split(":")[1] for k in agent.output_keys.values()]]


def enrolled_and_running(managed: Managed, fleet: FleetServer, paths: list[str], namespace: str = "default",
                         hash_types=None) -> tuple[Agent, str]:
    fleet.set_policy(POLICY, fim_policy([managed.es.url], paths, namespace=namespace, hash_types=hash_types))
    token = fleet.add_enrollment_token(POLICY)
    out = managed.enroll(token)
    assert out.returncode == 0, out.stderr
    agent = managed.start()
    wait_for(acked(fleet, f"policy:{POLICY}:1"), message="the first policy acked", agent=agent)
    return agent, token


def dead_url() -> str:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    sock.close()
    return url
