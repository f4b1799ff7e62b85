"""fimbeat managed by Fleet: the real binary against the Fleet Server stand-in (fleet_endpoint.py,
which follows fleet-server's OpenAPI spec and code as docs/design/fleet.md describes them) and the
Elasticsearch stand-in (es_endpoint.py). The Fleet stand-in records every protocol violation it
sees (headers, bodies, responses against the spec, two checkins at once, unknown ack tokens,
double acks, retries sooner than the backoff); each test asserts there were none.
"""

from __future__ import annotations

import json
import os
import re
import socket
import stat
import subprocess
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest

from conftest import TIMESTAMP_RE, wait_for
from es_endpoint import EsEndpoint
from fleet_endpoint import FleetServer, fim_policy
from managed_fleet import POLICY, Managed, acked, dead_url, enrolled_and_running, secrets_of


@pytest.fixture
def fleet():
    server = FleetServer(poll_seconds=1.0, min_retry_gap=0.09)
    yield server
    server.stop()
    server.assert_clean()


@pytest.fixture
def es(fleet):
    endpoint = EsEndpoint().start()
    endpoint.api_keys = fleet.output_keys  # the output keys Fleet hands out are the ones Elasticsearch knows
    yield endpoint
    endpoint.stop()


@pytest.fixture
def managed(fimbeat_bin, workspace, fleet, es):
    m = Managed(fimbeat_bin, workspace, fleet, es)
    yield m
    m.kill_all()


# --------------------------------------------------------------------------- enrollment


def test_enroll_uses_the_meta_json_id_and_keeps_secrets_private(managed, fleet):
    status = managed.status()
    assert status["lifecycle"] == "standalone"
    token = fleet.add_enrollment_token(POLICY)
    out = managed.enroll(token, "--tag", "pci", "--tag", "pci", "--tag", "web")
    assert out.returncode == 0, out.stderr
    agent = fleet.agent()
    assert agent.id == managed.meta_id()  # design decision 8: agent.id stays the meta.json id
    assert agent.tags == ["pci", "web"]
    state_dir = managed.home / "data" / "fleet"
    assert stat.S_IMODE(os.stat(state_dir).st_mode) == 0o700
    assert stat.S_IMODE(os.stat(state_dir / "state.json").st_mode) == 0o600
    for secret in secrets_of(fleet, token):
        assert secret not in out.stdout + out.stderr
    status = managed.status()
    assert status["lifecycle"] == "enrolled" and status["enrollment"]["agent_id"] == agent.id
    assert "access_api_key" not in status["enrollment"] and "replace_token" not in status["enrollment"]
    assert agent.access_key not in json.dumps(status)
    request = fleet.routes("enroll")[-1]
    assert request["headers"]["User-Agent"] == "Elastic Agent v8.15.0"  # the server's version (decision 2)
    assert request["headers"]["Elastic-Api-Version"] == "2023-06-01"
    # Already enrolled: refused without --force; with --force the same agent is replaced, not duplicated.
    again = managed.enroll(token)
    assert again.returncode != 0 and "already enrolled" in again.stderr
    forced = managed.enroll(token, "--force")
    assert forced.returncode == 0, forced.stderr
    assert len(fleet.agents) == 1 and fleet.agent().enroll_count == 2


def test_enroll_retry_after_a_lost_response_creates_no_duplicate(managed, fleet):
    token = fleet.add_enrollment_token(POLICY)
    fleet.lose_next_response("enroll")  # enrolled on the server, the answer never arrives
    fleet.fail_next("enroll", 503, "ServiceUnavailable")
    out = managed.enroll(token)
    assert out.returncode == 0, out.stderr
    assert len(fleet.routes("enroll")) == 3
    assert len(fleet.agents) == 1 and fleet.agent().enroll_count == 2
    bodies = [r["body"] for r in fleet.routes("enroll")]
    assert len({(b["id"], b["replace_token"]) for b in bodies}) == 1  # retried with the same values


def test_kill_during_enrollment_then_enroll_again_gives_one_agent(managed, fleet):
    token = fleet.add_enrollment_token(POLICY)
    fleet.lose_next_response("enroll")
    fleet.fail_next("enroll", 503, "ServiceUnavailable", count=1000)
    proc = subprocess.Popen([str(managed.binary), "enroll", "--url", fleet.url, "--enrollment-token", token,
                             "-c", str(managed.config), "--path.home", str(managed.home)],
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_for(lambda: len(fleet.routes("enroll")) >= 2, message="enrollment retried")
    proc.kill()
    proc.wait()
    assert managed.status()["lifecycle"] == "enrolling"
    run = managed.cli("run", "-e")
    assert run.returncode != 0 and "did not finish" in run.stderr
    fleet._faults.clear()
    out = managed.enroll(token)
    assert out.returncode == 0, out.stderr
    assert len(fleet.agents) == 1 and fleet.agent().id == managed.meta_id()


def test_invalid_enrollment_token_is_refused_and_nothing_is_kept(managed, fleet):
    out = managed.enroll("bm9wZTpub3Bl")  # base64("nope:nope")
    assert out.returncode != 0 and "refused the enrollment token" in out.stderr
    assert managed.status()["lifecycle"] == "standalone"


# --------------------------------------------------------------------------- policy


def test_policy_arrives_and_events_land_in_its_namespace(managed, fleet, es):
    (managed.tree / "a.txt").write_text("a\n")
    agent, token = enrolled_and_running(managed, fleet, [str(managed.tree)], namespace="prod", hash_types=["sha256"])
    wait_for(lambda: {str(managed.tree / "a.txt")} <= managed.paths_in("prod"), message="events in logs-fim.event-prod",
             agent=agent)
    doc = next(d for d in es.documents("logs-fim.event-prod") if d["file"]["path"].endswith("a.txt"))
    record = fleet.agent()
    assert doc["agent"]["id"] == record.id
    assert doc["elastic_agent"]["id"] == record.id
    assert doc["data_stream"] == {"type": "logs", "dataset": "fim.event", "namespace": "prod"}
    assert "sha256" in doc["file"]["hash"]
    # The revision is reported, the health too, with unit ids that embed the input id.
    wait_for(lambda: fleet.agent().policy_revision_idx == 1 and fleet.agent().last_status == "online",
             message="revision 1 reported online", agent=agent)
    components = fleet.agent().components
    assert components[0]["id"] == "audit/file_integrity-default"
    unit_ids = {u["id"] for u in components[0]["units"]}
    assert any(u.endswith("audit/file_integrity-fim-5f0c6d1e-3a8b-4e43-9d0a-77c1b2e0aa10") for u in unit_ids)
    checkin = fleet.routes("checkin")[-1]
    assert checkin["headers"]["Accept-Encoding"] == "gzip"
    assert checkin["headers"]["Content-Encoding"] == "gzip"
    assert checkin["headers"]["User-Agent"] == "Elastic Agent v8.15.0"
    status = managed.status()
    assert status["policy_good"]["revision"] == 1 and status["connectivity"]["state"] == "connected"
    for secret in secrets_of(fleet, token):
        assert secret not in agent.stderr_text()
        assert secret not in json.dumps(status)
    export = managed.cli("export", "config")
    assert all(secret not in export.stdout for secret in secrets_of(fleet, token))


def test_a_new_revision_changes_paths_and_hash_types_live(managed, fleet, es):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    wait_for(lambda: str(managed.tree) in managed.paths_in(), message="first scan shipped", agent=agent)
    tree2 = managed.workspace / "tree2"
    tree2.mkdir()
    (tree2 / "b.txt").write_text("b\n")
    fleet.set_policy(POLICY, fim_policy([es.url], [str(managed.tree), str(tree2)], hash_types=["sha512"]))
    wait_for(acked(fleet, f"policy:{POLICY}:2"), message="revision 2 acked", agent=agent)
    (managed.tree / "c.txt").write_text("c\n")
    wait_for(lambda: {str(tree2 / "b.txt"), str(managed.tree / "c.txt")} <= managed.paths_in(),
             message="events from the new path and the old one", agent=agent)
    doc = next(d for d in es.documents("logs-fim.event-default") if d["file"]["path"].endswith("b.txt"))
    assert "sha512" in doc["file"]["hash"]
    assert managed.status()["policy_good"]["revision"] == 2


def test_an_invalid_policy_is_rejected_and_the_old_one_keeps_running(managed, fleet, es):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    bad = fim_policy([es.url], [str(managed.tree)], extra_stream={"exclude_files": ["(unclosed"]})
    fleet.set_policy(POLICY, bad)
    wait_for(lambda: "rev 2 rejected" in fleet.agent().last_message, message="the rejection reported", agent=agent)
    record = fleet.agent()
    assert record.last_status == "error"
    assert "running rev 1" in record.last_message and "invalid regular expression" in record.last_message
    assert fleet.ack_count(f"policy:{POLICY}:2") == 0 and record.policy_revision_idx == 1
    (managed.tree / "after.txt").write_text("still watched\n")
    wait_for(lambda: str(managed.tree / "after.txt") in managed.paths_in(), message="old policy still ships",
             agent=agent)
    status = managed.status()
    assert status["policy_last"]["status"] == "rejected" and status["policy_good"]["revision"] == 1
    human = managed.cli("status").stdout
    assert "Rejected policy:" in human and "revision 2" in human
    # No hot loop: checkins that only re-deliver the rejected revision are min_interval (2 s) apart.
    start = len(fleet.routes("checkin"))
    wait_for(lambda: len(fleet.routes("checkin")) >= start + 3, timeout=20, message="three more checkins", agent=agent)
    times = [r["time"] for r in fleet.routes("checkin")[start:start + 3]]
    assert times[2] - times[1] >= 1.9
    # A fixed revision is applied at once.
    fleet.set_policy(POLICY, fim_policy([es.url], [str(managed.tree)]))
    wait_for(acked(fleet, f"policy:{POLICY}:3"), timeout=15, message="revision 3 acked", agent=agent)


# Elasticsearch retried quickly, so that a test does not wait out Beats' 60 s backoff.
QUICK_OUTPUT = {"backoff": {"init": "200ms", "max": "1s"}}


def doc_of(es: EsEndpoint, index: str, path: Path) -> dict:
    return next(d for d in es.documents(index) if d["file"]["path"] == str(path))


@pytest.mark.parametrize("restart", [False, True], ids=["live", "after-kill9"])
def test_events_queued_under_an_old_namespace_are_delivered_to_it(managed, fleet, es, restart):
    # Issue 17: the queue records which configuration generation produced an event.
    output = {"type": "elasticsearch", "hosts": [es.url], **QUICK_OUTPUT}
    fleet.set_policy(POLICY, fim_policy([es.url], [str(managed.tree)], namespace="alpha", output=output))
    assert managed.enroll(fleet.add_enrollment_token(POLICY)).returncode == 0
    agent = managed.start()
    wait_for(acked(fleet, f"policy:{POLICY}:1"), message="the first policy acked", agent=agent)
    wait_for(lambda: str(managed.tree) in managed.paths_in("alpha"), message="first scan shipped", agent=agent)
    # Elasticsearch answers 503 for every document from now on: events wait in the durable queue.
    attempted: set[str] = set()
    es.fail_items(503, lambda doc: attempted.add(doc["file"]["path"]) or True)
    a1, b1 = managed.tree / "a1.txt", managed.tree / "b1.txt"
    a1.write_text("queued under alpha\n")
    wait_for(lambda: str(a1) in attempted, message="a1 queued (and refused once)", agent=agent)
    fleet.set_policy(POLICY, fim_policy([es.url], [str(managed.tree)], namespace="beta", output=output))
    wait_for(acked(fleet, f"policy:{POLICY}:2"), message="revision 2 (namespace beta) acked", agent=agent)
    b1.write_text("queued under beta\n")  # behind a1, which the delivery retries first
    if restart:
        # The ack's answer is recorded first: a kill before that would send the ack again.
        wait_for(lambda: managed.status()["outbox"] == [], message="ack of revision 2 recorded", agent=agent)
        agent.kill()  # SIGKILL with a1 queued under the old generation, the new one current
        es.clear_item_faults()
        agent = managed.start()
    else:
        es.clear_item_faults()
    wait_for(lambda: str(a1) in managed.paths_in("alpha") and str(b1) in managed.paths_in("beta"),
             message="each event in its own generation's data stream", agent=agent)
    assert str(a1) not in managed.paths_in("beta") and str(b1) not in managed.paths_in("alpha")
    assert doc_of(es, "logs-fim.event-alpha", a1)["data_stream"]["namespace"] == "alpha"
    assert doc_of(es, "logs-fim.event-beta", b1)["data_stream"]["namespace"] == "beta"


@pytest.mark.parametrize("refusal", ["unknown-key", "no-create-doc"])
def test_a_policy_whose_output_refuses_fimbeat_is_rejected_and_the_old_stages_run_on(managed, fleet, es, refusal):
    before, after = managed.tree / "before.txt", managed.tree / "after.txt"
    before.write_text("b\n")
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    wait_for(lambda: str(before) in managed.paths_in(), message="rev 1 ships", agent=agent)
    # A second Elasticsearch that does not know Fleet's keys (401), or knows them without create_doc.
    refusing = EsEndpoint(api_keys={"someone": "else"} if refusal == "unknown-key" else fleet.output_keys)
    refusing.deny_privileges = refusal == "no-create-doc"
    refusing.start()
    try:
        fleet.set_policy(POLICY, fim_policy([refusing.url], [str(managed.tree)]))
        wait_for(lambda: "rev 2 rejected" in fleet.agent().last_message, message="the rejection reported", agent=agent)
        record = fleet.agent()
        assert record.last_status == "error" and record.policy_revision_idx == 1
        assert 'output "default" refuses fimbeat' in record.last_message and "running rev 1" in record.last_message
        why = "authentication failed" if refusal == "unknown-key" else "lacks create_doc on logs-fim.event-default"
        assert why in record.last_message
        assert fleet.ack_count(f"policy:{POLICY}:2") == 0
        assert managed.status()["policy_last"]["status"] == "rejected"
        after.write_text("a\n")
        wait_for(lambda: str(after) in managed.paths_in(), message="the old stages still ship", agent=agent)
        # Never stopped: the events before and after the rejection come from the same stages.
        assert (doc_of(es, "logs-fim.event-default", before)["agent"]["ephemeral_id"] ==
                doc_of(es, "logs-fim.event-default", after)["agent"]["ephemeral_id"])
        # Not re-applied while Fleet re-sends it: the refusing Elasticsearch was asked once.
        start = len(fleet.routes("checkin"))
        wait_for(lambda: len(fleet.routes("checkin")) >= start + 3, timeout=20, message="three more checkins",
                 agent=agent)
        handshakes = [r for r in refusing.request_log() if r[0] == "GET" and r[1] == "/"]
        assert len(handshakes) == 1, handshakes
        assert refusing.stat("items") == 0
    finally:
        refusing.stop()


def test_unsupported_inputs_and_outputs(managed, fleet, es):
    policy = fim_policy([es.url], [str(managed.tree)])
    policy["inputs"].append({"id": "logfile-system-1", "type": "logfile", "use_output": "default",
                             "data_stream": {"namespace": "default"}, "streams": []})
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    fleet.set_policy(POLICY, policy)
    wait_for(acked(fleet, f"policy:{POLICY}:2"), message="a policy with an extra input is still applied", agent=agent)
    wait_for(lambda: any(c["type"] == "logfile" and c["status"] == "FAILED" for c in fleet.agent().components or []),
             message="the logfile input reported FAILED", agent=agent)
    logstash = fim_policy([es.url], [str(managed.tree)], output={"type": "logstash", "hosts": ["ls:5044"]})
    fleet.set_policy(POLICY, logstash)
    wait_for(lambda: "rev 3 rejected" in fleet.agent().last_message and "Elasticsearch" in fleet.agent().last_message,
             message="a logstash output rejected", agent=agent)


# --------------------------------------------------------------------------- actions


def test_settings_unknown_and_scheduled_actions(managed, fleet):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    record = fleet.agent()
    later = (datetime.now(timezone.utc) + timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    expired = (datetime.now(timezone.utc) - timedelta(hours=1)).isoformat().replace("+00:00", "Z")
    settings = fleet.add_action(record.id, "SETTINGS", {"log_level": "debug"})
    upgrade = fleet.add_action(record.id, "UPGRADE", {"version": "9.0.0"})
    scheduled = fleet.add_action(record.id, "UPGRADE", {"version": "9.1.0"}, start_time=later)
    wait_for(lambda: fleet.ack_count(settings) and fleet.ack_count(upgrade), message="acks", agent=agent)
    assert "error" not in fleet.ack_events(settings)[0]
    assert "does not self-upgrade" in fleet.ack_events(upgrade)[0]["error"]
    assert fleet.ack_count(scheduled) == 0  # not before its start_time
    assert managed.status()["log_level"] == "debug"
    cancel = fleet.add_action(record.id, "CANCEL", {"target_id": scheduled})
    reassign = fleet.add_action(record.id, "POLICY_REASSIGN", {"policy_id": POLICY})
    wait_for(lambda: fleet.ack_count(cancel) and fleet.ack_count(reassign), message="cancel acked", agent=agent)
    assert "error" not in fleet.ack_events(cancel)[0]
    assert managed.status()["inbox_pending"] == 0
    diag = fleet.add_action(record.id, "REQUEST_DIAGNOSTICS", {}, )
    wait_for(lambda: fleet.ack_count(diag), message="diagnostics acked", agent=agent)
    assert "does not support REQUEST_DIAGNOSTICS" in fleet.ack_events(diag)[0]["error"]
    # An expired action is not delivered by the server at all (filtered as fleet-server does).
    gone = fleet.add_action(record.id, "SETTINGS", {"log_level": "info"}, expiration=expired)
    fleet.add_action(record.id, "SETTINGS", {"log_level": "info"})
    wait_for(lambda: managed.status()["log_level"] == "info", message="the later SETTINGS applied", agent=agent)
    assert fleet.ack_count(gone) == 0


def test_unenroll_action_stops_inputs_and_stays_unenrolled(managed, fleet, es):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    unenroll = fleet.add_action(fleet.agent().id, "UNENROLL", None)
    wait_for(acked(fleet, unenroll), message="UNENROLL acked", agent=agent)
    wait_for(lambda: managed.status()["lifecycle"] == "unenrolled", message="unenrolled persisted", agent=agent)
    assert not fleet.agent().active
    assert agent.stop() == 0
    restart = managed.cli("run", "-e")
    assert restart.returncode != 0 and "unenrolled" in restart.stderr
    # The queue and the baseline stay (decision 3): the database is still there.
    assert (managed.home / "data" / "fimbeat.db").is_dir()


def test_unenroll_command_tells_fleet_and_keeps_the_data(managed, fleet):
    token = fleet.add_enrollment_token(POLICY)
    assert managed.enroll(token).returncode == 0
    out = managed.cli("unenroll")
    assert out.returncode == 0, out.stderr
    audit = fleet.routes("audit/unenroll")
    assert len(audit) == 1 and audit[0]["body"]["reason"] == "uninstall"
    assert managed.status()["lifecycle"] == "unenrolled"
    assert "unenrolled" in managed.cli("status").stdout


# --------------------------------------------------------------------------- faults


def test_acks_pending_survive_kill9_and_are_sent_once(managed, fleet, es):
    fleet.set_policy(POLICY, fim_policy([es.url], [str(managed.tree)]))
    token = fleet.add_enrollment_token(POLICY)
    assert managed.enroll(token).returncode == 0
    fleet.fail_next("acks", 503, "ServiceUnavailable", count=10_000)
    (managed.tree / "before.txt").write_text("x\n")
    agent = managed.start()
    wait_for(lambda: len(managed.status()["outbox"]) == 1, message="the policy ack pending", agent=agent)
    wait_for(lambda: str(managed.tree / "before.txt") in managed.paths_in(), message="events shipped", agent=agent)
    agent.kill()  # SIGKILL with the ack pending
    fleet._faults.clear()
    (managed.tree / "while-down.txt").write_text("y\n")
    agent2 = managed.start()
    wait_for(acked(fleet, f"policy:{POLICY}:1"), message="the pending ack sent after the restart", agent=agent2)
    wait_for(lambda: str(managed.tree / "while-down.txt") in managed.paths_in(), message="no event lost",
             agent=agent2)
    wait_for(lambda: len(fleet.routes("checkin")) >= 3, agent=agent2)
    assert fleet.ack_count(f"policy:{POLICY}:1") == 1
    assert managed.status()["outbox"] == []


def test_kill9_during_apply_restarts_on_the_last_good_policy_then_gives_up(managed, fleet, es):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    assert agent.stop() == 0
    # Elasticsearch hangs: the old stages cannot drain, so an apply takes the whole stop grace
    # (seconds) and a SIGKILL lands in the middle of it, with policy_last "applying".
    es.slow(60)
    (managed.tree / "pending.txt").write_text("p\n")
    fleet.set_policy(POLICY, fim_policy([es.url], [str(managed.tree)], hash_types=["md5"]))
    for attempt in range(1, 4):
        a = managed.start()
        wait_for(lambda: (managed.status().get("policy_last") or {}).get("attempts") == attempt
                 and managed.status()["policy_last"]["status"] == "applying",
                 timeout=20, message=f"apply attempt {attempt} under way", agent=a)
        a.kill()
    assert managed.status()["policy_good"]["revision"] == 1
    # Fourth start: the last-good policy runs, revision 2 is rejected instead of applied again.
    es.slow(0)
    a = managed.start()
    wait_for(lambda: managed.status()["policy_last"]["status"] == "rejected", timeout=20,
             message="rejected after 3 interrupted applies", agent=a)
    assert "stopped 3 times while applying" in managed.status()["policy_last"]["error"]
    assert managed.status()["policy_good"]["revision"] == 1
    wait_for(lambda: str(managed.tree / "pending.txt") in managed.paths_in(), timeout=20,
             message="the event queued before the kills is delivered", agent=a)
    assert fleet.ack_count(f"policy:{POLICY}:2") == 0


def test_fleet_down_for_60_s_watching_and_shipping_go_on_and_checkins_resume(managed, fleet, es):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    fleet.go_down()
    wait_for(lambda: managed.status()["connectivity"]["state"] == "backoff", message="backoff reported", agent=agent)
    down_at = time.monotonic()
    written = 0
    while time.monotonic() - down_at < 60:  # a minute without Fleet: a change every 10 s is shipped
        changed = managed.tree / f"during-outage-{written}.txt"
        changed.write_text(f"{written}\n")
        wait_for(lambda: str(changed) in managed.paths_in(), message=f"shipping goes on ({written})", agent=agent)
        written += 1
        time.sleep(max(0.0, min(10.0, 60 - (time.monotonic() - down_at))))
    connectivity = managed.status()["connectivity"]
    assert connectivity["state"] == "backoff", connectivity
    # fleet.backoff.max is 1 s: at least one attempt every second or so, never more than two a second.
    assert 10 <= connectivity["failures"] <= 2 * (time.monotonic() - down_at) + 5, connectivity
    assert written >= 6 and agent.running()
    before = len(fleet.routes("checkin"))
    fleet.come_up()
    wait_for(lambda: len(fleet.routes("checkin")) > before + 1, timeout=15, message="checkins resume", agent=agent)
    wait_for(lambda: managed.status()["connectivity"]["state"] == "connected", agent=agent)


def test_offline_start_runs_the_last_good_policy(managed, fleet, es):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    assert agent.stop() == 0
    fleet.go_down()
    (managed.tree / "offline.txt").write_text("o\n")
    agent2 = managed.start()
    wait_for(lambda: str(managed.tree / "offline.txt") in managed.paths_in(), message="runs without Fleet",
             agent=agent2)


def test_429_and_5xx_back_off_then_resume(managed, fleet):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    fleet.fail_next("checkin", 429, "TooManyRequests", count=2)
    fleet.fail_next("checkin", 503, "ServiceUnavailable", count=2)
    fleet.fail_next("checkin", 500, "BadRequest", count=1)
    wait_for(lambda: sum(1 for r in fleet.routes("checkin") if r["status"] >= 400) == 5, timeout=20,
             message="five error answers", agent=agent)
    wait_for(lambda: fleet.routes("checkin")[-1]["status"] == 200, timeout=20, message="checkins succeed again",
             agent=agent)
    # The stand-in recorded a violation for any retry sooner than the backoff allows (teardown).


@pytest.mark.parametrize("fault", ["revoke", "disable_key"])  # force unenroll; a key disabled in Elasticsearch
def test_revoked_key_keeps_watching_and_reports_revoked(managed, fleet, es, fault):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    getattr(fleet, fault)(fleet.agent().id)
    wait_for(lambda: managed.status()["connectivity"]["state"] == "revoked", timeout=20, message="revoked", agent=agent)
    assert agent.running()
    assert "revoked" in managed.cli("status").stdout
    assert fleet.routes("checkin")[-1]["status"] == 401


def test_several_hosts_a_dead_one_is_skipped(managed, fleet, es):
    dead = socket.socket()
    dead.bind(("127.0.0.1", 0))
    dead_url = f"http://127.0.0.1:{dead.getsockname()[1]}"
    dead.close()
    fleet.set_policy(POLICY, fim_policy([es.url], [str(managed.tree)]))
    token = fleet.add_enrollment_token(POLICY)
    out = managed.enroll(token, urls=(dead_url, fleet.url))
    assert out.returncode == 0, out.stderr
    agent = managed.start()
    wait_for(acked(fleet, f"policy:{POLICY}:1"), message="policy through the live host", agent=agent)


def test_removing_a_path_from_the_policy_emits_no_deleted_flood(managed, fleet, es):
    tree2 = managed.workspace / "tree2"
    tree2.mkdir()
    for i in range(5):
        (tree2 / f"f{i}.txt").write_text(f"{i}\n")
    # inotify: no who-data conditions (fanotify's, DEGRADED without CAP_SYS_PTRACE here) that would
    # hide the watcher's STARTING from Fleet.
    inotify = {"backend": "inotify"}
    fleet.set_policy(POLICY, fim_policy([es.url], [str(managed.tree), str(tree2)], extra_stream=inotify))
    assert managed.enroll(fleet.add_enrollment_token(POLICY)).returncode == 0
    agent = managed.start()
    wait_for(lambda: str(tree2 / "f4.txt") in managed.paths_in(), message="tree2 shipped", agent=agent)
    fleet.set_policy(POLICY, fim_policy([es.url], [str(managed.tree)], extra_stream=inotify))
    wait_for(acked(fleet, f"policy:{POLICY}:2"), message="revision 2 acked", agent=agent)
    # The new stages' start-up scan, and the deletion sweep at its end, are done once Fleet hears
    # the input unit HEALTHY under revision 2 (STARTING while it scans): a flood would be queued
    # before the marker's event.
    wait_for(lambda: fleet.agent().policy_revision_idx == 2 and input_unit_status(fleet) == "HEALTHY",
             message="revision 2's start-up scan done", agent=agent)
    (managed.tree / "marker.txt").write_text("m\n")
    wait_for(lambda: str(managed.tree / "marker.txt") in managed.paths_in(), message="new policy ships", agent=agent)
    deleted = [d["file"]["path"] for d in es.documents("logs-fim.event-default")
               if "deleted" in d["event"]["action"] and d["file"]["path"].startswith(str(tree2))]
    assert deleted == []


def input_unit_status(fleet: FleetServer) -> str:
    units = [u for c in fleet.agent().components or [] for u in c["units"] if u["type"] == "input"]
    return units[0]["status"] if units else ""


def test_fleet_hosts_from_the_policy_are_checked_before_use(managed, fleet, es):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    unreachable = fim_policy([es.url], [str(managed.tree)])
    unreachable["fleet"] = {"hosts": [dead_url()]}
    fleet.set_policy(POLICY, unreachable)
    wait_for(lambda: "rev 2 rejected" in fleet.agent().last_message, message="unreachable hosts rejected", agent=agent)
    assert "Fleet Server hosts" in fleet.agent().last_message
    hosts = [dead_url(), fleet.url]
    reachable = fim_policy([es.url], [str(managed.tree)])
    reachable["fleet"] = {"hosts": hosts}
    fleet.set_policy(POLICY, reachable)
    wait_for(acked(fleet, f"policy:{POLICY}:3"), message="reachable hosts applied", agent=agent)
    wait_for(lambda: managed.status()["enrollment"]["hosts"] == hosts, message="hosts switched", agent=agent)
    before = len(fleet.routes("checkin"))
    wait_for(lambda: len(fleet.routes("checkin")) > before + 1, timeout=15, message="checkins go on", agent=agent)


def test_a_change_of_health_reaches_fleet_without_waiting_for_the_poll(managed, fleet, es):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    wait_for(lambda: fleet.agent().last_status == "online", message="online", agent=agent)
    fleet.poll_seconds = 120  # a poll now outlasts the test's deadlines
    open_polls = len(fleet.routes("checkin"))
    es.fail_requests(503, count=100_000)
    (managed.tree / "retry.txt").write_text("r\n")
    wait_for(lambda: fleet.agent().last_status == "degraded", timeout=30, message="DEGRADED reported", agent=agent)
    assert "output" in fleet.agent().last_message
    assert len(fleet.routes("checkin")) >= open_polls  # the open poll was ended by the client, not answered


# --------------------------------------------------------------------------- approvals from Fleet


def _change_document(managed: Managed, path: Path, content: bytes, agent) -> dict:
    """Writes `content` to `path` and returns the document of that change (matched by its size)."""
    path.write_bytes(content)

    def found():
        for d in managed.es.documents("logs-fim.event-default"):
            if d["file"]["path"] == str(path) and d["file"].get("size") == len(content) and \
                    d["event"]["action"] != ["initial_scan"]:
                return d
        return None

    return wait_for(found, timeout=30, message=f"the document of {path}", agent=agent)


def _input_ack(fleet: FleetServer, action_id: str, agent) -> dict:
    wait_for(acked(fleet, action_id), message=f"INPUT_ACTION {action_id} acked", agent=agent)
    ack = fleet.ack_events(action_id)[0]
    started = datetime.fromisoformat(ack["started_at"].replace("Z", "+00:00"))
    completed = datetime.fromisoformat(ack["completed_at"].replace("Z", "+00:00"))
    assert started <= completed, ack
    return ack


def test_an_input_action_approves_a_directory_and_one_for_another_input_is_refused(managed, fleet, es):
    approved, other = managed.tree / "approved", managed.tree / "other"
    approved.mkdir()
    other.mkdir()
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    record = fleet.agent()
    data = {"approve": {"paths": [str(approved)], "for": "30m", "reason": "CHG-1234"}}
    approve = fleet.add_input_action(record.id, "audit/file_integrity", data)
    ack = _input_ack(fleet, approve, agent)
    assert "error" not in ack, ack
    assert ack["action_input_type"] == "audit/file_integrity"
    assert ack["action_data"] == data
    approval = ack["action_response"]["approval"]
    assert re.fullmatch(r"[0-9a-f]{8}", approval["id"]), approval
    assert approval["paths"] == [os.path.realpath(approved)] and approval["reason"] == "CHG-1234"
    assert TIMESTAMP_RE.match(approval["expires"]), approval
    left = datetime.fromisoformat(approval["expires"].replace("Z", "+00:00")) - datetime.now(timezone.utc)
    assert timedelta(minutes=29) < left <= timedelta(minutes=30), approval

    inside = _change_document(managed, approved / "nginx.conf", b"worker_processes 4;\n", agent)
    elsewhere = _change_document(managed, other / "hosts", b"127.0.0.1 x\n", agent)
    assert inside["file_integrity"]["approval"] == {"id": approval["id"], "reason": "CHG-1234",
                                                    "expires": approval["expires"]}, inside
    assert "approval" not in elsewhere.get("file_integrity", {}), elsewhere

    listing = _input_ack(fleet, fleet.add_input_action(record.id, "audit/file_integrity", {"list": {}}), agent)
    assert "error" not in listing, listing
    assert [a["id"] for a in listing["action_response"]["approvals"]] == [approval["id"]]
    if os.geteuid() == 0:  # `fimbeat approve` is root's: the same approval over the control socket
        out = managed.cli("approve", "--list")
        assert out.returncode == 0, out.stderr
        assert approval["id"] in out.stdout and "CHG-1234" in out.stdout, out.stdout

    # Refused with the reason, and still with the input fields the spec's inputEvent requires.
    refusals = {
        "osquery": ({"query": "select 1"}, "osquery"),
        "audit/file_integrity": ({"approve": {"paths": ["relative/dir"], "for": "30m", "reason": "x"}},
                                 "must be absolute"),
    }
    for input_type, (bad, reason) in refusals.items():
        refused = _input_ack(fleet, fleet.add_input_action(record.id, input_type, bad), agent)
        assert reason in refused["error"], refused
        assert refused["action_input_type"] == input_type and refused["action_data"] == bad, refused
        assert refused["action_response"] == {"error": refused["error"]}, refused
    missing = {"approve": {"paths": [str(other)], "for": "30m"}}
    refused = _input_ack(fleet, fleet.add_input_action(record.id, "audit/file_integrity", missing), agent)
    assert "\"reason\"" in refused["error"], refused

    revoke = {"revoke": {"id": approval["id"]}}
    revoked = _input_ack(fleet, fleet.add_input_action(record.id, "audit/file_integrity", revoke), agent)
    assert "error" not in revoked and revoked["action_response"]["revoked"]["id"] == approval["id"], revoked
    after = _change_document(managed, approved / "nginx.conf", b"worker_processes 16;\n", agent)
    assert "approval" not in after.get("file_integrity", {}), after
