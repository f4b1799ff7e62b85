"""fimbeat managed by Fleet, under the faults a network and a Fleet Server can inflict (design §8.4):
the real binary against the Fleet Server stand-in (fleet_endpoint.py, which follows fleet-server's
OpenAPI spec and code as docs/design/fleet.md describes them), the Elasticsearch stand-in
(es_endpoint.py) and a CONNECT proxy (connect_proxy.py). The Fleet stand-in asserts its
invariants on every request (one checkin open at a time, no retry sooner than the backoff or a
Retry-After allows, each action acked once, ack tokens only from answers the agent received);
each test ends with none violated. Also here: Fleet's TLS and proxy settings (from `enroll` and
from the policy's `fleet` section) and the monitoring endpoint of a managed fimbeat.

The faults of issue 17 and where they are tested:
- server down: test_fleet.py::test_fleet_down_for_60_s_watching_and_shipping_go_on_and_checkins_resume
- 429 / 5xx: test_fleet.py::test_429_and_5xx_back_off_then_resume; with Retry-After: below
- revoked key: test_fleet.py::test_revoked_key_keeps_watching_and_reports_revoked
- reset, hang, slow drip, truncated body, deleted agent, another agent's key, bodies over
  fleet-server's limits, slow long polls, lost answers, policy churn: below.
"""

from __future__ import annotations

import json
import re
import subprocess
import time
import urllib.request
from email.utils import formatdate
from pathlib import Path

import pytest

from connect_proxy import ConnectProxy
from conftest import wait_for, write_config
from es_endpoint import EsEndpoint
from fleet_endpoint import FleetServer, fim_policy
from managed_fleet import POLICY, Managed, acked, dead_url, enrolled_and_running

# Every first retry waits 0.75-1.5 s (equal jitter of fleet.backoff.init), so the stand-in's
# minimum gap of GAP leaves room for a loaded machine; a checkin gives up after fleet.timeout.
FAULT_CONFIG = """\
fleet.checkin.min_interval: 2s
fleet.checkin.poll_timeout: 2s
fleet.timeout: 4s
fleet.backoff.init: 1500ms
fleet.backoff.max: 3s
fleet.unauthorized_limit: 2
fleet.revoked_interval: 3s
queue.min_free: 0
"""
GAP = 0.5
REVOKED_GAP = 2.5  # fleet.revoked_interval, less a margin


def make_fleet(**kwargs) -> FleetServer:
    return FleetServer(poll_seconds=1.0, min_retry_gap=GAP, deleted_gap=REVOKED_GAP, **kwargs)


@pytest.fixture
def fleet():
    server = make_fleet()
    yield server
    server.stop()
    server.assert_clean()


@pytest.fixture
def es(fleet):
    endpoint = EsEndpoint().start()
    endpoint.api_keys = fleet.output_keys
    yield endpoint
    endpoint.stop()


@pytest.fixture
def managed(fimbeat_bin, workspace, fleet, es):
    m = Managed(fimbeat_bin, workspace, fleet, es, config=FAULT_CONFIG)
    yield m
    m.kill_all()


def online(managed: Managed, agent) -> None:
    """Enrolled, the first policy running and reported: nothing changes health from here on."""
    wait_for(lambda: managed.fleet.agent().last_status == "online", message="online", agent=agent)


def answered_after(fleet: FleetServer, index: int, status: int = 200) -> int:
    return sum(1 for r in fleet.routes("checkin")[index:] if r.get("status") == status)


def action_through(managed: Managed, agent, level: str = "debug") -> str:
    """A SETTINGS action, acked exactly once (however many answers it took to deliver it)."""
    fleet = managed.fleet
    action = fleet.add_action(fleet.agent().id, "SETTINGS", {"log_level": level})
    wait_for(acked(fleet, action), timeout=30, message=f"SETTINGS {action} acked", agent=agent)
    assert "error" not in fleet.ack_events(action)[0]
    wait_for(lambda: managed.status()["outbox"] == [], message="no ack pending", agent=agent)
    assert fleet.ack_count(action) == 1
    return action


# --------------------------------------------------------------------------- answers that go wrong


@pytest.mark.parametrize("fault", ["lose", "reset", "truncate", "garble"])
def test_an_answer_that_does_not_arrive_whole_is_delivered_again_and_acked_once(managed, fleet, fault):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    # The server applies the checkin, then the answer carrying the action is lost (closed without
    # a byte), reset half-way (RST), cut short of its Content-Length or replaced by a page that is
    # not JSON: the agent backs off, checks in again with its old ack_token (the stand-in fails
    # the test on any other) and the server delivers the action again.
    getattr(fleet, f"{fault}_next_response")("checkin", carrying_actions=True)
    action = action_through(managed, agent)
    spoiled = [r for r in fleet.routes("checkin") if r.get("bad_answer") == fault]
    assert len(spoiled) == 1 and not spoiled[0]["answer_received"]
    assert fleet.delivered(action) == 2


@pytest.mark.parametrize("fault", ["lose", "reset", "truncate", "garble"])
def test_an_ack_whose_answer_does_not_arrive_is_sent_again_and_counted_once(managed, fleet, fault):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    getattr(fleet, f"{fault}_next_response")("acks")
    action = action_through(managed, agent)
    # Fleet Server recorded the first ack; the agent could not know and sent it again: accepted once.
    assert fleet.ack_retries.get(action) == 1
    assert fleet.delivered(action) == 1


def test_a_proxy_error_page_is_an_error_answer_backed_off(managed, fleet):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    fleet.fail_next("checkin", 502, "BadGateway", count=2, html=True)
    wait_for(lambda: sum(1 for r in fleet.routes("checkin") if r.get("html")) == 2, timeout=20,
             message="two error pages", agent=agent)
    action_through(managed, agent)
    assert any("checkin failed (HTTP 502: the answer is not Fleet Server's JSON" in m for m in agent.log_messages())
    # Each retry came after the backoff (the stand-in's minimum gap fails the test otherwise).


def test_a_slow_drip_answer_is_read_whole_and_used(managed, fleet):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    fleet.drip_next_response("checkin", seconds=2.0, carrying_actions=True)  # within fleet.timeout
    action = action_through(managed, agent)
    drip = [r for r in fleet.routes("checkin") if r.get("bad_answer") == "drip"]
    assert len(drip) == 1 and drip[0]["answer_received"]
    assert fleet.delivered(action) == 1


def test_an_endless_drip_is_cut_by_the_timeout_and_its_actions_come_again(managed, fleet):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    fleet.drip_next_response("checkin", seconds=1.0, endless=True, carrying_actions=True)
    action = action_through(managed, agent)
    drip = [r for r in fleet.routes("checkin") if r.get("bad_answer") == "drip"]
    assert len(drip) == 1 and not drip[0]["answer_received"]
    assert fleet.delivered(action) == 2


def test_a_hung_checkin_times_out_and_is_retried_after_a_backoff(managed, fleet):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    fleet.hang_next("checkin")  # read, never answered: only fleet.timeout (4 s) ends it
    wait_for(lambda: any(r["status"] == "hang" for r in fleet.routes("checkin")), message="a checkin hangs",
             agent=agent)
    hung = next(i for i, r in enumerate(fleet.routes("checkin")) if r["status"] == "hang")
    wait_for(lambda: managed.status()["connectivity"]["state"] == "backoff", timeout=15,
             message="the hung checkin given up and reported", agent=agent)
    assert managed.status()["connectivity"]["failures"] == 1
    wait_for(lambda: answered_after(fleet, hung + 1) >= 1, timeout=20, message="checkins resume", agent=agent)
    wait_for(lambda: managed.status()["connectivity"]["state"] == "connected", agent=agent)
    # The stand-in failed the test at teardown had a second checkin opened while the hung one was
    # open, or one come sooner than the backoff after the agent gave up.


def test_slow_long_polls_stay_one_at_a_time_and_one_longer_than_the_timeout_is_cut(managed, fleet):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    fleet.poll_seconds = 3.0  # slow, but within fleet.timeout
    start = len(fleet.routes("checkin"))
    wait_for(lambda: answered_after(fleet, start) >= 2, timeout=20, message="two 3-second polls", agent=agent)
    assert managed.status()["connectivity"]["state"] == "connected"
    action_through(managed, agent)  # an action still ends the open poll at once
    fleet.poll_seconds = 30.0  # longer than fleet.timeout: the agent gives up on each poll and backs off
    wait_for(lambda: managed.status()["connectivity"]["state"] == "backoff", timeout=20,
             message="a poll longer than the timeout given up", agent=agent)
    fleet.poll_seconds = 1.0
    mark = len(fleet.routes("checkin"))
    wait_for(lambda: answered_after(fleet, mark) >= 1, timeout=30, message="polls answered again", agent=agent)
    wait_for(lambda: managed.status()["connectivity"]["state"] == "connected", agent=agent)


# --------------------------------------------------------------------------- Retry-After


def test_retry_after_in_seconds_on_a_429_is_waited_for(managed, fleet):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    # A proxy or load balancer in front of Fleet Server (which itself sends none) asks for 2 s,
    # longer than fimbeat's own first wait (0.75-1.5 s); the stand-in fails the test at teardown
    # had the next checkin come sooner.
    fleet.fail_next("checkin", 429, "TooManyRequests", retry_after="2")
    wait_for(lambda: answered_after(fleet, 0, 429) == 1, message="the 429", agent=agent)
    first = next(i for i, r in enumerate(fleet.routes("checkin")) if r["status"] == 429)
    wait_for(lambda: answered_after(fleet, first + 1) >= 1, timeout=20, message="checkins resume", agent=agent)


def test_retry_after_as_an_http_date_on_a_503_is_waited_for(managed, fleet):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    # An HTTP-date 3 s after the answer (whole seconds: between 2 and 3 s after it).
    fleet.fail_next("checkin", 503, "ServiceUnavailable", retry_after=lambda: formatdate(time.time() + 3, usegmt=True))
    wait_for(lambda: answered_after(fleet, 0, 503) == 1, message="the 503", agent=agent)
    first = next(i for i, r in enumerate(fleet.routes("checkin")) if r["status"] == 503)
    wait_for(lambda: answered_after(fleet, first + 1) >= 1, timeout=20, message="checkins resume", agent=agent)


def test_a_long_retry_after_is_bounded_by_the_backoff_max(managed, fleet):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    # An hour is asked; fimbeat waits fleet.backoff.max (3 s) and not less.
    fleet.fail_next("checkin", 503, "ServiceUnavailable", retry_after="3600", honoured=3.0)
    wait_for(lambda: answered_after(fleet, 0, 503) == 1, message="the 503", agent=agent)
    first = next(i for i, r in enumerate(fleet.routes("checkin")) if r["status"] == 503)
    wait_for(lambda: answered_after(fleet, first + 1) >= 1, timeout=20, message="checkins resume within the bound",
             agent=agent)


def test_enroll_waits_for_retry_after(managed, fleet):
    token = fleet.add_enrollment_token(POLICY)
    fleet.fail_next("enroll", 429, "TooManyRequests", retry_after="2")  # enroll's own first wait: 1.5 s
    out = managed.enroll(token)
    assert out.returncode == 0, out.stderr
    assert [r["status"] for r in fleet.routes("enroll")] == [429, 200]


# --------------------------------------------------------------------------- agent deleted or refused by Fleet


@pytest.mark.parametrize("fault, state, error, status", [
    ("delete_agent", "revoked", "404 AgentNotFound", 404),  # Fleet Server knows the agent no more
    ("key_to_another_agent", "identity_mismatch", "403 ErrAgentIdentity", 403),  # its key is another agent's
])
def test_an_agent_fleet_refuses_keeps_watching_and_checks_in_only_every_revoked_interval(managed, fleet, es, fault,
                                                                                         state, error, status):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    getattr(fleet, fault)(fleet.agent().id)
    wait_for(lambda: managed.status()["connectivity"]["state"] == state, timeout=15, message=f"{state} seen",
             agent=agent)
    assert error in managed.status()["connectivity"]["last_error"]
    assert state in managed.cli("status").stdout
    assert any("enroll --force" in m for m in agent.log_messages())
    (managed.tree / "after-refusal.txt").write_text("still watched\n")
    wait_for(lambda: str(managed.tree / "after-refusal.txt") in managed.paths_in(), message="watching goes on",
             agent=agent)
    # It keeps asking, at fleet.revoked_interval (the stand-in's deleted_gap fails the test otherwise).
    wait_for(lambda: answered_after(fleet, 0, status) >= 3, timeout=20, message=f"three {status}s, 3 s apart",
             agent=agent)
    assert agent.running()


def test_graceful_force_unenroll_stops_the_inputs_and_checks_in_only_every_revoked_interval(fimbeat_bin, workspace):
    """fleet-server's graceful_force_unenroll: a revoked agent is sent a policy {} and an UNENROLL
    before the 401s; fimbeat runs both, cannot ack them (its key is refused), keeps them pending
    and checks in only every fleet.revoked_interval."""
    fleet = make_fleet(graceful_force_unenroll=True)
    es = EsEndpoint().start()
    es.api_keys = fleet.output_keys
    managed = Managed(fimbeat_bin, workspace, fleet, es, config=FAULT_CONFIG)
    try:
        agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
        online(managed, agent)
        record = fleet.agent()
        fleet.revoke(record.id)
        wait_for(lambda: managed.status()["connectivity"]["state"] == "revoked", timeout=20, message="revoked",
                 agent=agent)
        assert record.graceful_answers >= 3  # the policy {}, the UNENROLL, then a 401 at least
        status = managed.status()
        assert status["unenroll_reason"].startswith("UNENROLL action ")
        assert sorted(a["type"] for a in status["outbox"]) == ["POLICY_CHANGE", "UNENROLL"]  # refused: kept
        assert not any(a.get("error") for a in status["outbox"]), status["outbox"]  # {} is a valid policy
        assert any("unenrolled by Fleet: inputs stopped" in m for m in agent.log_messages())
        assert agent.running()
        # From here it asks only every fleet.revoked_interval.
        mark = len(fleet.routes("checkin"))
        wait_for(lambda: answered_after(fleet, mark, 401) >= 2, timeout=20, message="two more 401s", agent=agent)
        times = [r["time"] for r in fleet.routes("checkin")[mark:] if r["status"] == 401]
        assert all(later - earlier >= REVOKED_GAP for earlier, later in zip(times, times[1:])), times
        assert agent.stop() == 0
    finally:
        managed.kill_all()
        es.stop()
        fleet.stop()
    fleet.assert_clean()


def test_fleet_agent_version_is_the_user_agent_and_one_above_the_server_is_outdated_client(managed, fleet, es):
    write_config(managed.config, FAULT_CONFIG + "fleet.agent_version: 8.14.0\n")
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    assert {r["headers"]["User-Agent"] for r in fleet.routes("enroll") + fleet.routes("checkin")} == \
        {"Elastic Agent v8.14.0"}
    assert agent.stop() == 0
    # Fleet Server 8.15 refuses agents newer than itself (400 UnsupportedVersion).
    write_config(managed.config, FAULT_CONFIG + "fleet.agent_version: 9.9.0\n")
    mark = len(fleet.routes("checkin"))
    newer = managed.start()
    wait_for(lambda: managed.status()["connectivity"]["state"] == "outdated_client", timeout=20,
             message="outdated_client", agent=newer)
    assert all(r["status"] == 400 and r["response"]["error"] == "UnsupportedVersion"
               for r in fleet.routes("checkin")[mark:])
    assert any("fleet.agent_version" in m for m in newer.log_messages())
    (managed.tree / "while-outdated.txt").write_text("x\n")  # the last-good policy runs all the same
    wait_for(lambda: str(managed.tree / "while-outdated.txt") in managed.paths_in(), message="watching goes on",
             agent=newer)
    assert newer.stop() == 0
    time.sleep(GAP)  # a new process does not know its predecessor's backoff (the stand-in's gap)
    write_config(managed.config, FAULT_CONFIG)  # the server's own version, read from /api/status
    mark = len(fleet.routes("checkin"))
    fixed = managed.start()
    wait_for(lambda: answered_after(fleet, mark) >= 1, message="checkins accepted again", agent=fixed)
    assert fleet.routes("checkin")[-1]["headers"]["User-Agent"] == "Elastic Agent v8.15.0"


# --------------------------------------------------------------------------- bodies over fleet-server's limits


def test_a_checkin_over_the_body_limit_is_sent_again_at_once_without_components(managed, fleet):
    """fleet-server answers a body over its cap with 400 BadRequest (design §1.4); the agent sends
    that checkin again at once without components and local_metadata (design §7.5) and goes on."""
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    full = [r for r in fleet.routes("checkin") if r["status"] == 200 and "components" in r["body"]]
    with fleet.lock:
        fleet.max_body["checkin"] = full[-1]["size"] // 2
    start = len(fleet.routes("checkin"))
    wait_for(lambda: any(r["status"] == 400 for r in fleet.routes("checkin")[start:-1]), timeout=20,
             message="a checkin refused, then another", agent=agent)
    action_through(managed, agent)  # delivered by a checkin without components
    checkins = fleet.routes("checkin")[start:]
    refused = [i for i, r in enumerate(checkins[:-1]) if r["status"] == 400]
    for i in refused:
        assert "components" in checkins[i]["body"] and "local_metadata" in checkins[i]["body"]
        retry = checkins[i + 1]
        assert "components" not in retry["body"] and "local_metadata" not in retry["body"], retry["body"]
        assert retry["status"] == 200
    # The stand-in allows only that one retry sooner than the backoff (a violation fails teardown).
    assert any("refused the checkin body" in m for m in agent.log_messages())


def test_a_batch_of_acks_over_the_body_limit_is_sent_again_in_halves(managed, fleet):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    action_through(managed, agent)
    one = fleet.routes("acks")[-1]
    assert len(one["body"]["events"]) == 1
    with fleet.lock:
        fleet.max_body["acks"] = one["size"] * 3 // 2  # one SETTINGS ack fits, two do not
        record = fleet.agent()
        # Added under the lock: delivered by one checkin, acked in one batch of four.
        actions = [fleet.add_action(record.id, "SETTINGS", {"log_level": level})
                   for level in ("info", "debug", "info", "debug")]
    wait_for(lambda: all(fleet.ack_count(a) == 1 for a in actions), timeout=30, message="four acks", agent=agent)
    sizes = [(len(r["body"]["events"]), r["status"]) for r in fleet.routes("acks")[-6:]]
    assert sizes == [(4, 400), (2, 400), (1, 200), (1, 200), (1, 200), (1, 200)], sizes
    wait_for(lambda: managed.status()["outbox"] == [], message="no ack pending", agent=agent)
    assert any("sending them 2 at a time" in m for m in agent.log_messages())
    # An ack refused on its own cannot get smaller: it is logged and dropped, not sent forever.
    with fleet.lock:
        fleet.max_body["acks"] = one["size"] // 2
    lone = fleet.add_action(record.id, "SETTINGS", {"log_level": "info"})
    wait_for(lambda: any(f"refused the ack of action {lone} on its own" in m for m in agent.log_messages()),
             timeout=30, message="the lone ack dropped", agent=agent)
    wait_for(lambda: managed.status()["outbox"] == [], message="no ack pending", agent=agent)
    assert fleet.ack_count(lone) == 0
    assert [r["status"] for r in fleet.routes("acks") if lone in json.dumps(r["body"])] == [400]


# --------------------------------------------------------------------------- policy churn


def test_policy_churn_ends_on_the_latest_revision_each_applied_one_acked_once(managed, fleet, es):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    trees = {}
    valid = set()
    # Revisions 2..13 in pairs set back to back (the agent sees the first of a pair only if it
    # checks in between), every third one invalid, one policy ack's answer lost on the way.
    for rev in range(2, 14, 2):
        for r in (rev, rev + 1):
            trees[r] = managed.workspace / f"tree{r}"
            trees[r].mkdir()
            (trees[r] / f"file{r}.txt").write_text(f"{r}\n")
            bad = {"exclude_files": ["(unclosed"]} if r % 3 == 0 else None
            assert fleet.set_policy(POLICY, fim_policy([es.url], [str(trees[r])], extra_stream=bad)) == r
            if not bad:
                valid.add(r)
        if rev == 6:
            fleet.lose_next_response("acks")
        wait_for(lambda: max(fleet.agent().delivered_revisions) >= rev, timeout=30,
                 message=f"revision {rev} or later delivered", agent=agent)
    last = 13
    assert last in valid
    wait_for(acked(fleet, f"policy:{POLICY}:{last}"), timeout=30, message="the last revision acked", agent=agent)
    wait_for(lambda: fleet.agent().policy_revision_idx == last, message="the last revision reported", agent=agent)
    wait_for(lambda: str(trees[last] / f"file{last}.txt") in managed.paths_in(), timeout=20,
             message="the last revision watches its path", agent=agent)
    status = managed.status()
    assert status["policy_good"]["revision"] == last and status["outbox"] == []
    delivered = fleet.agent().delivered_revisions
    for r in range(2, last + 1):
        events = fleet.ack_events(f"policy:{POLICY}:{r}")
        if r in delivered and r in valid:
            assert len(events) == 1 and "error" not in events[0], (r, events)  # applied, acked once
        else:
            assert events == [], (r, events)  # rejected (decision 1) or never delivered: no ack
    assert any(r in delivered for r in range(2, last + 1) if r not in valid), "no invalid revision was delivered"


def test_a_rotated_output_key_is_used_from_the_policy_that_brings_it(managed, fleet, es):
    agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
    online(managed, agent)
    record = fleet.agent()
    old_key = record.output_keys["default"]
    fleet.rotate_output_key(record.id)
    revision = fleet.set_policy(POLICY, fim_policy([es.url], [str(managed.tree)]))
    wait_for(acked(fleet, f"policy:{POLICY}:{revision}"), message="the policy with the new key acked", agent=agent)
    assert record.output_keys["default"] != old_key
    assert old_key.split(":")[0] not in fleet.output_keys  # Elasticsearch refuses the old key from here on
    (managed.tree / "after-rotation.txt").write_text("x\n")
    wait_for(lambda: str(managed.tree / "after-rotation.txt") in managed.paths_in(),
             message="shipped with the new key", agent=agent)
    assert not any("401" in m for m in agent.log_messages()), "the old key was used after the rotation"


# --------------------------------------------------------------------------- TLS and proxies


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 and a client certificate signed by it, another CA."""
    d = tmp_path_factory.mktemp("pki")
    for name in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=fimbeat fleet {name}",
                "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.crt"))
    (d / "server.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    (d / "client.ext").write_text("extendedKeyUsage=clientAuth\n")
    for name, subject in (("server", "/CN=127.0.0.1"), ("client", "/CN=fimbeat agent")):
        openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", subject, "-keyout", str(d / f"{name}.key"),
                "-out", str(d / f"{name}.csr"))
        openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.crt"), "-CAkey", str(d / "ca.key"),
                "-CAcreateserial", "-days", "2", "-extfile", str(d / f"{name}.ext"), "-out", str(d / f"{name}.crt"))
    return {"ca": d / "ca.crt", "other": d / "other-ca.crt", "cert": d / "server.crt", "key": d / "server.key",
            "client_cert": d / "client.crt", "client_key": d / "client.key"}


@pytest.fixture
def tls(fimbeat_bin, workspace, pki):
    """A TLS Fleet Server stand-in, the Elasticsearch stand-in and a workspace for a managed fimbeat."""
    fleet = make_fleet(certfile=str(pki["cert"]), keyfile=str(pki["key"]))
    es = EsEndpoint().start()
    es.api_keys = fleet.output_keys
    managed = Managed(fimbeat_bin, workspace, fleet, es, config=FAULT_CONFIG)
    yield managed
    managed.kill_all()
    es.stop()
    fleet.stop()
    fleet.assert_clean()


def tls_enrolled(managed: Managed, *extra: str):
    fleet = managed.fleet
    fleet.set_policy(POLICY, fim_policy([managed.es.url], [str(managed.tree)]))
    token = fleet.add_enrollment_token(POLICY)
    out = managed.enroll(token, *extra)
    assert out.returncode == 0, out.stderr
    agent = managed.start()
    wait_for(acked(fleet, f"policy:{POLICY}:1"), timeout=20, message="the first policy acked", agent=agent)
    online(managed, agent)
    return agent


def test_enroll_over_tls_needs_its_ca_and_run_keeps_using_it(tls, pki):
    fleet = tls.fleet
    token = fleet.add_enrollment_token(POLICY)
    # TLS verification is on by default: without the CA, Fleet Server's certificate is refused.
    write_config(tls.config, FAULT_CONFIG.replace("1500ms", "100ms").replace("backoff.max: 3s", "backoff.max: 200ms"))
    refused = tls.enroll(token, timeout=60)
    assert refused.returncode != 0 and "certificate" in refused.stderr, refused.stderr
    assert fleet.routes("enroll") == [] and fleet.agents == {}
    write_config(tls.config, FAULT_CONFIG)
    agent = tls_enrolled(tls, "--certificate-authorities", str(pki["ca"]))
    assert tls.status()["enrollment"]["certificate_authorities"] == [str(pki["ca"])]
    assert agent.stop() == 0
    again = tls.start()  # the CA given to enroll is what every later run uses
    mark = len(fleet.routes("checkin"))
    wait_for(lambda: answered_after(fleet, mark) >= 1, message="checkins over TLS after a restart", agent=again)


def test_enroll_insecure_skips_verification_and_says_so(tls, pki):
    agent = tls_enrolled(tls, "--insecure")  # no CA: Fleet Server's certificate is not checked
    assert tls.status()["enrollment"]["insecure"] is True
    assert any("not verified" in m and "--insecure" in m for m in agent.log_messages())
    assert agent.stop() == 0
    again = tls.start()  # --insecure given to enroll is what every later run uses
    mark = len(tls.fleet.routes("checkin"))
    wait_for(lambda: answered_after(tls.fleet, mark) >= 1, message="checkins after a restart", agent=again)


def test_enroll_and_checkins_go_through_the_proxy_given_to_enroll(tls, pki):
    proxy = ConnectProxy()
    try:
        agent = tls_enrolled(tls, "--certificate-authorities", str(pki["ca"]), "--proxy-url", proxy.url)
        enrolled = proxy.count(tls.fleet.port)
        assert enrolled >= 2  # the status probe and the enrollment
        assert tls.status()["enrollment"]["proxy_url"] == proxy.url
        wait_for(lambda: proxy.count(tls.fleet.port) >= enrolled + 2, message="checkins through the proxy", agent=agent)
        assert all(c["target"] == f"127.0.0.1:{tls.fleet.port}" for c in proxy.connects)
    finally:
        proxy.stop()


def test_the_policy_fleet_proxy_headers_and_client_certificate_are_used_from_the_next_request(tls, pki):
    fleet = tls.fleet
    proxy = ConnectProxy(required_headers={"X-Proxy-Token": "t0ken-from-the-policy"})
    try:
        agent = tls_enrolled(tls, "--certificate-authorities", str(pki["ca"]))
        assert proxy.connects == []
        # Kibana's generateFleetConfig: a Fleet Server host with a proxy that has headers and
        # certificates gives inline PEM in fleet.ssl and "" as verification_mode.
        policy = fim_policy([tls.es.url], [str(tls.tree)])
        policy["fleet"] = {"hosts": [fleet.url], "proxy_url": proxy.url,
                           "proxy_headers": {"X-Proxy-Token": "t0ken-from-the-policy"},
                           "ssl": {"renegotiation": "never", "verification_mode": "",
                                   "certificate_authorities": [pki["ca"].read_text()],
                                   "certificate": pki["client_cert"].read_text(),
                                   "key": pki["client_key"].read_text()}}
        fleet.set_policy(POLICY, policy)
        wait_for(acked(fleet, f"policy:{POLICY}:2"), timeout=20, message="revision 2 acked", agent=agent)
        # From now on Fleet Server wants the client certificate, and the proxy its header.
        fleet.require_client_certificate(str(pki["ca"]))
        through = proxy.count(fleet.port)
        assert through >= 1  # the probe of the new settings before the policy was applied
        mark = len(fleet.routes("checkin"))
        wait_for(lambda: answered_after(fleet, mark) >= 2, timeout=20, message="checkins with the policy's settings",
                 agent=agent)
        assert proxy.count(fleet.port) >= through + 2
        assert all(c["status"] == 200 for c in proxy.connects)
        # A policy without them goes back to what enroll was given (direct, no client certificate).
        fleet.accept_any_client()
        fleet.set_policy(POLICY, fim_policy([tls.es.url], [str(tls.tree)]))
        wait_for(acked(fleet, f"policy:{POLICY}:3"), timeout=20, message="revision 3 acked", agent=agent)
        direct = proxy.count(fleet.port)
        mark = len(fleet.routes("checkin"))
        wait_for(lambda: answered_after(fleet, mark) >= 2, timeout=20, message="checkins after revision 3",
                 agent=agent)
        assert proxy.count(fleet.port) == direct
        for secret in ("t0ken-from-the-policy", "PRIVATE KEY"):
            assert secret not in agent.stderr_text()
    finally:
        proxy.stop()


def test_policy_fleet_settings_fleet_server_cannot_be_reached_with_are_rejected(tls, pki):
    fleet = tls.fleet
    agent = tls_enrolled(tls, "--certificate-authorities", str(pki["ca"]))
    cases = [
        ({"ssl": {"certificate_authorities": [pki["other"].read_text()]}}, "Fleet Server hosts"),
        ({"proxy_url": dead_url()}, "through its proxy"),
        ({"ssl": {"verification_mode": "sometimes"}}, "fleet.ssl.verification_mode"),
        ({"proxy_url": "127.0.0.1:3128"}, "fleet.proxy_url"),
        ({"ssl": {"certificate": pki["client_cert"].read_text()}}, "fleet.ssl.key"),
    ]
    for rev, (section, reason) in enumerate(cases, start=2):
        policy = fim_policy([tls.es.url], [str(tls.tree)])
        policy["fleet"] = {"hosts": [fleet.url], **section}
        fleet.set_policy(POLICY, policy)
        wait_for(lambda: f"rev {rev} rejected" in fleet.agent().last_message, timeout=20,
                 message=f"revision {rev} rejected", agent=agent)
        assert reason in fleet.agent().last_message and "running rev 1" in fleet.agent().last_message
        assert fleet.ack_count(f"policy:{POLICY}:{rev}") == 0
    # Checkins go on as before.
    mark = len(fleet.routes("checkin"))
    wait_for(lambda: answered_after(fleet, mark) >= 1, timeout=20, message="checkins go on", agent=agent)


# --------------------------------------------------------------------------- monitoring


def test_the_monitoring_endpoint_runs_when_managed(fimbeat_bin, workspace, fleet, es):
    managed = Managed(fimbeat_bin, workspace, fleet, es, config=FAULT_CONFIG + "http.enabled: true\nhttp.port: 0\n")
    try:
        agent, _ = enrolled_and_running(managed, fleet, [str(managed.tree)])
        address = wait_for(lambda: next((m.group(1) for m in (re.match(r"Metrics endpoint listening on: (\S+) ", x)
                                                              for x in agent.log_messages()) if m), None),
                           message="the monitoring endpoint listening", agent=agent)
        with urllib.request.urlopen(f"http://{address}/", timeout=5) as response:
            info = json.loads(response.read())
        assert info["uuid"] == fleet.agent().id and info["beat"] == "fimbeat"
        with urllib.request.urlopen(f"http://{address}/state", timeout=5) as response:
            state = json.loads(response.read())
        assert state["management"] == {"enabled": True}  # as a Beat under Elastic Agent
        assert state["module"] == {"count": 1, "names": ["file_integrity"]}  # the policy's stream
        (managed.tree / "counted.txt").write_text("c\n")
        wait_for(lambda: str(managed.tree / "counted.txt") in managed.paths_in(), agent=agent)

        def acked_events() -> int:
            with urllib.request.urlopen(f"http://{address}/stats", timeout=5) as response:
                return json.loads(response.read())["libbeat"]["output"]["events"]["acked"]
        wait_for(lambda: acked_events() >= 1, message="the policy's output counted in /stats", agent=agent)
        assert agent.stop() == 0
    finally:
        managed.kill_all()


def test_a_fleet_timeout_not_above_the_poll_timeout_is_refused(managed):
    write_config(managed.config, FAULT_CONFIG.replace("fleet.timeout: 4s", "fleet.timeout: 2s"))
    out = managed.cli("test", "config")
    assert out.returncode != 0 and "fleet.timeout" in out.stdout + out.stderr
