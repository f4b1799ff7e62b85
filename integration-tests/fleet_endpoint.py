#!/usr/bin/env python3
"""A strict Fleet Server stand-in for fimbeat's integration tests.

It follows fleet-server's OpenAPI spec (``model/openapi.yml`` at elastic/fleet-server dc8e2307,
kept outside the repository at ``../shared/reference/fleet-server/openapi.yml``) with the
corrections of docs/design/fleet.md §1.5 (the project's design note §8), and models what the
server code does where the spec and the code differ:

- Routes ``GET /api/status``, ``POST /api/fleet/agents/enroll``, ``POST /api/fleet/agents/{id}/checkin``,
  ``POST /api/fleet/agents/{id}/acks``, ``POST /api/fleet/agents/{id}/audit/unenroll``; other paths 404,
  other methods 405.
- Headers as ``internal/pkg/apikey`` and ``internal/pkg/api/userAgent.go`` check them:
  ``Authorization: ApiKey base64(id:key)`` (401 ErrNoAuthHeader / ErrInvalidToken, 400
  ErrMalformedHeader / ErrMalformedToken), ``User-Agent: Elastic Agent v<X.Y.Z>`` on enroll and checkin
  within ``>= 7.13, <= <server major.minor>`` (400 InvalidUserAgent / UnsupportedVersion),
  ``Elastic-Api-Version`` format and value (400).
- Every request body and every response body this server writes is validated against the spec's
  schemas (json.RawMessage nodes taken as any JSON, ``action.data`` dispatched by ``type``, dates
  parsed with ``datetime.fromisoformat``) with Debian's python3-jsonschema (Draft 4).
- Enrollment keys, agents, access keys, per-agent output API keys (``id:key``), policy revisions,
  ``.fleet-actions`` with ack tokens, long polls, acks with per-item statuses and the max status as
  the HTTP status (an INPUT_ACTION's ack checked against the spec's ``inputEvent``), UNENROLL acks
  deactivating the agent, ``id``/``replace_token`` re-enrollment
  (403 AgentNotReplaceable without a matching token).

The server resolves the checkin's ``ack_token`` to the sequence number of the action that issued
it and delivers every action after it (``handleCheckin.go`` resolveSeqNo): an answer the agent
never got is delivered again. Acks are idempotent by action id: the retry of an ack whose answer
was lost is accepted and counted once.

Invariants checked on every request (``violations``; ``assert_clean()`` at teardown): valid
headers and bodies, at most one checkin open per agent at any moment (a hanging or dripping one
included), ``ack_token`` equal to a token this server issued in an answer the agent received,
``policy_revision_idx`` never above a delivered revision, every action acked at most once (its
retry after a lost answer aside) and only if delivered, no checkin or enroll sooner than
``min_retry_gap`` after an error answer or a failed connection (or than a ``Retry-After`` sent,
or than ``deleted_gap`` after a 404 for a deleted agent or a 403 ErrAgentIdentity; the one exception is the immediate
retry of a checkin refused for its body, sent without ``components`` and ``local_metadata``,
design §7.5), no request by an agent after its UNENROLL was acked.

Request bodies are capped as fleet-server caps them (``max_body``: checkin 1 MiB, enroll 512 KiB,
acks 2 MiB, ``config/env_defaults.go``; the wire bytes, before any gzip is undone); a body over
the cap gets 400 ``BadRequest``, as fleet-server's MaxBytesReader error is answered (design §1.4).

Faults (methods): ``fail_next`` (whole-request status with fleet-server's error names, optionally
with a ``Retry-After``), ``hang_next`` (read the request, never answer), ``go_down``/``come_up``
(connection refused), ``revoke`` (401 ErrAgentInactive), ``disable_key`` (401 "ApiKey not enabled"), ``delete_agent`` (404),
``key_to_another_agent`` (403 ErrAgentIdentity), ``graceful_force_unenroll`` (a revoked agent's
checkins answered with a policy ``{}``, then an UNENROLL, then 401s), ``rotate_output_key`` (a new output API key in
the next policy, the old one invalidated at that policy's ack), a lower ``max_body`` (400), and, after the
request was applied: ``lose_next_response`` (closed without an answer), ``reset_next_response``
(half an answer, then a TCP reset), ``garble_next_response`` (200 with an HTML body), ``truncate_next_response`` (a Content-Length larger than the
body sent, then closed), ``drip_next_response`` (the answer trickles in over seconds, or never
ends). Long polls last ``poll_seconds`` (changeable at any time). TLS with ``certfile``/``keyfile``;
``require_client_certificate`` turns on mutual TLS for new connections.
"""

from __future__ import annotations

import base64
import copy
import gzip
import hashlib
import json
import os
import re
import secrets
import select
import socket
import ssl
import struct
import threading
import time
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timezone
from email.utils import parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Optional

import yaml

try:
    import jsonschema
except ImportError:  # pragma: no cover - CI installs python3-jsonschema (Makefile TEST_PACKAGES)
    jsonschema = None

SPEC_PATH = Path(os.environ.get("FLEET_OPENAPI",
                                Path(__file__).resolve().parents[2] / "shared/reference/fleet-server/openapi.yml"))
API_VERSION = "2023-06-01"
UA_RE = re.compile(r"^elastic agent v?(\d+)\.(\d+)\.(\d+)(-.*)?$")
ACTION_DATA_SCHEMA = {"POLICY_REASSIGN": "actionPolicyReassign", "POLICY_CHANGE": "actionPolicyChange",
                      "UPGRADE": "actionUpgrade", "SETTINGS": "actionSettings", "CANCEL": "actionCancel",
                      "REQUEST_DIAGNOSTICS": "actionRequestDiagnostics", "INPUT_ACTION": "actionInputAction",
                      "MIGRATE": "actionMigrate", "PRIVILEGE_LEVEL_CHANGE": "actionPrivilegeLevelChange"}


# --------------------------------------------------------------------------- schema checks


class _NoDatesLoader(yaml.SafeLoader):
    pass


# Example timestamps must stay strings (design §8.2).
_NoDatesLoader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:timestamp"] for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()}


def _fix(node: Any) -> Any:
    """json.RawMessage nodes carry raw JSON on the wire (design §1.5 item 2): any JSON."""
    if isinstance(node, dict):
        if node.get("x-go-type") == "json.RawMessage":
            return {}
        fixed = {k: _fix(v) for k, v in node.items()}
        if "data" in fixed.get("properties", {}) and "oneOf" in fixed["properties"]["data"]:
            fixed["properties"]["data"] = {}  # action.data: dispatched by type (§1.5 item 3)
        return fixed
    if isinstance(node, list):
        return [_fix(v) for v in node]
    return node


class Schemas:
    def __init__(self, path: Path = SPEC_PATH):
        self.enabled = jsonschema is not None and path.is_file()
        if not self.enabled:
            print(f"fleet_endpoint: SCHEMA CHECKS ARE OFF (spec {path} or python3-jsonschema missing)", flush=True)
            return
        spec = yaml.load(path.read_text(), Loader=_NoDatesLoader)
        self.components = _fix(spec["components"])

    def errors(self, name: str, value: Any) -> list[str]:
        if not self.enabled:
            return []
        root = {"components": self.components, "allOf": [{"$ref": f"#/components/schemas/{name}"}]}
        validator = jsonschema.Draft4Validator(root)
        return [f"{name}: {'/'.join(map(str, e.absolute_path))}: {e.message}" for e in validator.iter_errors(value)]


def _is_datetime(text: Any) -> bool:
    try:
        datetime.fromisoformat(str(text).replace("Z", "+00:00"))
        return True
    except ValueError:
        return False


# What a proxy in front of Fleet Server may answer instead of JSON.
HTML_PAGE = b"<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center></body></html>\n"


def _full_checkin(body: Any) -> bool:
    """A checkin body with its components or local_metadata (not the shrunk retry of design §7.5)."""
    return isinstance(body, dict) and ("components" in body or "local_metadata" in body)


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pbkdf2(token: str, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha512", token.encode(), salt, 10000)


# --------------------------------------------------------------------------- model


@dataclass
class AgentRecord:
    id: str
    policy_id: str
    access_key_id: str
    access_key: str
    replace_token_hash: Optional[tuple[bytes, bytes]]
    tags: list[str]
    local_metadata: Any
    active: bool = True
    checkins: int = 0
    last_status: str = ""
    last_message: str = ""
    components: Any = None
    policy_revision_idx: Optional[int] = None  # acked or reported
    delivered_revisions: set = field(default_factory=set)
    delivered_actions: set = field(default_factory=set)
    issued_tokens: list = field(default_factory=list)
    received_tokens: set = field(default_factory=set)  # issued in an answer written whole
    seq: int = 0  # the action seq no resolved from the last checkin's ack_token (agent.ActionSeqNo)
    unenroll_acked: bool = False
    output_keys: dict = field(default_factory=dict)  # output name -> "id:key"
    retired_output_keys: list = field(default_factory=list)  # "id:key", invalidated at the next policy ack
    graceful_answers: int = 0  # graceful_force_unenroll answers given since it was revoked
    key_disabled: bool = False  # its access key disabled in Elasticsearch: "ApiKey not enabled"
    enroll_count: int = 0


@dataclass
class ActionDoc:
    seq: int
    id: str
    agent_id: str
    type: str
    data: Any
    token: str
    start_time: Optional[str] = None
    expiration: Optional[str] = None
    input_type: str = ""  # INPUT_ACTION: the input it is for (Kibana's osquery, Endpoint...)


class HttpError(Exception):
    def __init__(self, status: int, name: str, message: str, retry_after: Any = None,
                 honoured: Optional[float] = None):
        super().__init__(message)
        self.status, self.name, self.message = status, name, message
        self.retry_after = retry_after  # the Retry-After header value, if any
        self.honoured = honoured  # seconds the client must wait before its next try


def retry_after_seconds(value: str) -> float:
    """How long a client must wait for this Retry-After value (delay-seconds or an HTTP-date)."""
    if value.isdigit():
        return float(value)
    return max(0.0, parsedate_to_datetime(value).timestamp() - time.time())


class FleetServer:
    """The stand-in; every public method is thread-safe."""

    def __init__(self, version: str = "8.15.0", poll_seconds: float = 2.0, host: str = "127.0.0.1",
                 min_retry_gap: float = 0.5, output_hosts: Optional[list[str]] = None,
                 certfile: Optional[str] = None, keyfile: Optional[str] = None, deleted_gap: float = 0.0,
                 max_body: Optional[dict[str, int]] = None, graceful_force_unenroll: bool = False):
        self.version = version
        self.poll_seconds = poll_seconds
        self.min_retry_gap = min_retry_gap  # a client must wait at least this long after an error answer
        self.deleted_gap = deleted_gap  # ... and this long after a 404 for its deleted agent
        self.output_hosts = list(output_hosts or [])
        self.max_body = {"checkin": 1 << 20, "enroll": 512 << 10, "acks": 2 << 20, **(max_body or {})}
        # fleet-server's optional feature (handleInvalidAPIKey): a revoked agent's checkins are
        # answered with a POLICY_CHANGE to {}, then an UNENROLL, then 401s.
        self.graceful_force_unenroll = graceful_force_unenroll
        self.tls: Optional[ssl.SSLContext] = None
        if certfile:
            self.tls = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            self.tls.load_cert_chain(certfile, keyfile)
        self.schemas = Schemas()
        self.lock = threading.RLock()
        self.changed = threading.Condition(self.lock)
        self.enrollment_tokens: dict[str, dict] = {}  # api key id -> {key, policy_id, active}
        self.policies: dict[str, dict] = {}  # policy id -> policy (with revision)
        self.agents: dict[str, AgentRecord] = {}
        self.actions: list[ActionDoc] = []
        self.acks: dict[str, list[dict]] = {}  # action id -> ack events received
        self.output_keys: dict[str, str] = {}  # every output key issued, id -> key (give it to EsEndpoint.api_keys)
        self.revoked_output_keys: set[str] = set()
        self.requests: list[dict] = []
        self.violations: list[str] = []
        self.healthy = True
        self._faults: list[list] = []  # [route regex, status, name, remaining, retry_after, honoured]
        self._hangs: list[list] = []  # [route regex, remaining]
        self._bad_answers: list[list] = []  # [route regex, remaining, kind, params]
        self._lost_acks: set[str] = set()  # action ids whose ack answer the agent did not get
        self.ack_retries: dict[str, int] = {}  # action id -> acks accepted again after a lost answer
        # "<route>:<agent id>" -> (monotonic, why, a request allowed sooner: body -> bool, or None)
        self._not_before: dict[str, tuple[float, str, Any]] = {}
        self._open_checkins: dict[str, list] = {}  # agent id -> per open checkin, "has its client left?"
        self._seq = 0
        self.port = 0
        self._server: Optional[ThreadingHTTPServer] = None
        self._bind()

    # ----------------------------------------------------------------- lifecycle

    def _bind(self) -> None:
        server = _Server(("127.0.0.1", self.port), _make_handler(self), bind_and_activate=False)
        server.daemon_threads = True
        server.allow_reuse_address = True
        server.server_bind()
        server.server_activate()
        if self.tls:
            server.socket = self.tls.wrap_socket(server.socket, server_side=True, do_handshake_on_connect=False)
        self.port = server.server_address[1]
        self._server = server
        threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"{'https' if self.tls else 'http'}://127.0.0.1:{self.port}"

    def require_client_certificate(self, ca_file: str) -> None:
        """New TLS connections must present a certificate this CA signed."""
        assert self.tls, "not a TLS stand-in"
        self.tls.load_verify_locations(ca_file)
        self.tls.verify_mode = ssl.CERT_REQUIRED

    def go_down(self) -> None:
        """Closes the listening socket: connections are refused until come_up()."""
        server, self._server = self._server, None
        if server:
            server.shutdown()
            server.server_close()
        with self.lock:
            self.changed.notify_all()

    def come_up(self) -> None:
        if self._server is None:
            self._bind()

    def stop(self) -> None:
        self.go_down()

    def __enter__(self) -> "FleetServer":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.stop()

    # ----------------------------------------------------------------- test controls

    def add_enrollment_token(self, policy_id: str) -> str:
        key_id, key = secrets.token_hex(10), secrets.token_urlsafe(16)
        with self.lock:
            self.enrollment_tokens[key_id] = {"key": key, "policy_id": policy_id, "active": True}
        return base64.b64encode(f"{key_id}:{key}".encode()).decode()

    def set_policy(self, policy_id: str, policy: dict) -> int:
        """Stores a new revision of the policy (its `id` and `revision` are set here)."""
        with self.lock:
            revision = self.policies.get(policy_id, {}).get("revision", 0) + 1
            self.policies[policy_id] = {**copy.deepcopy(policy), "id": policy_id, "revision": revision}
            self.changed.notify_all()
            return revision

    def add_action(self, agent_id: str, type: str, data: Any, start_time: Optional[str] = None,
                   expiration: Optional[str] = None, input_type: str = "") -> str:
        with self.lock:
            self._seq += 1
            doc = ActionDoc(self._seq, str(uuid.uuid4()), agent_id, type, data, secrets.token_urlsafe(12),
                            start_time, expiration, input_type)
            self.actions.append(doc)
            self.changed.notify_all()
            return doc.id

    def add_input_action(self, agent_id: str, input_type: str, data: Any) -> str:
        """An INPUT_ACTION for the agent's input of `input_type`, as Kibana's integrations write them."""
        return self.add_action(agent_id, "INPUT_ACTION", data, input_type=input_type)

    def fail_next(self, route: str, status: int, name: str, count: int = 1, retry_after: Any = None,
                  honoured: Optional[float] = None, html: bool = False) -> None:
        """The next `count` requests whose route matches answer `status` with fleet-server's error `name`;
        with `retry_after` (a value, or a function giving it when the answer is written), a Retry-After
        header (as a proxy or load balancer sends: Fleet Server itself sends none) that the client must
        honour (`honoured` seconds, when it bounds a long one); `html`: the body is a proxy's HTML
        error page instead of fleet-server's JSON error."""
        with self.lock:
            self._faults.append([re.compile(route), status, name, count, retry_after, honoured, html])

    def hang_next(self, route: str, count: int = 1) -> None:
        """The next matching requests are read and never answered, until the client gives up."""
        with self.lock:
            self._hangs.append([re.compile(route), count])

    def _bad_answer(self, route: str, count: int, kind: str, carrying_actions: bool, **params: Any) -> None:
        with self.lock:
            self._bad_answers.append([re.compile(route), count, kind, params, carrying_actions])

    # `carrying_actions`: only a checkin answer that delivers actions is spoiled.
    def lose_next_response(self, route: str, count: int = 1, carrying_actions: bool = False) -> None:
        """The next matching requests are processed, then the connection closes without an answer."""
        self._bad_answer(route, count, "lose", carrying_actions)

    def reset_next_response(self, route: str, count: int = 1, carrying_actions: bool = False) -> None:
        """... processed, then half of the answer is sent and the connection reset (RST)."""
        self._bad_answer(route, count, "reset", carrying_actions)

    def truncate_next_response(self, route: str, count: int = 1, carrying_actions: bool = False) -> None:
        """... processed, then the answer announces more bytes than it sends and the connection closes."""
        self._bad_answer(route, count, "truncate", carrying_actions)

    def garble_next_response(self, route: str, count: int = 1, carrying_actions: bool = False) -> None:
        """... processed, then answered 200 with a body that is not JSON (an HTML page, as a proxy
        in the way may send): the client must treat it as no answer (design §7.6)."""
        self._bad_answer(route, count, "garble", carrying_actions)

    def drip_next_response(self, route: str, seconds: float, count: int = 1, endless: bool = False,
                           carrying_actions: bool = False) -> None:
        """... processed, then the answer trickles in over `seconds`; `endless`: it never ends (the
        Content-Length is never reached, a byte of padding follows every `seconds`/20)."""
        self._bad_answer(route, count, "drip", carrying_actions, seconds=seconds, endless=endless)

    def take_bad_answer(self, route: str, response: Any) -> Optional[list]:
        with self.lock:
            for bad in self._bad_answers:
                if bad[1] > 0 and bad[0].search(route) and (not bad[4] or response.get("actions")):
                    bad[1] -= 1
                    return bad
        return None

    def accept_any_client(self) -> None:
        """New TLS connections need no client certificate any more."""
        assert self.tls, "not a TLS stand-in"
        self.tls.verify_mode = ssl.CERT_NONE

    def delivered(self, action_id: str) -> int:
        """How many checkin answers, written whole or not, carried this action."""
        with self.lock:
            return sum(1 for r in self.requests if r["route"] == "checkin" and isinstance(r.get("response"), dict)
                       and any(a["id"] == action_id for a in r["response"].get("actions", [])))

    def revoke(self, agent_id: str) -> None:
        """Kibana's force unenroll: active false, access and output keys invalidated."""
        with self.lock:
            agent = self.agents[agent_id]
            agent.active = False
            for key in agent.output_keys.values():
                self.revoked_output_keys.add(key.split(":")[0])
                self.output_keys.pop(key.split(":")[0], None)
            self.changed.notify_all()

    def disable_key(self, agent_id: str) -> None:
        """The agent's access key is disabled (not invalidated) in Elasticsearch: 401 "ApiKey not enabled"."""
        with self.lock:
            self.agents[agent_id].key_disabled = True
            self.changed.notify_all()

    def key_to_another_agent(self, agent_id: str) -> str:
        """The agent's access key now belongs to a new agent record (the agent gets a new key it
        never learns): its checkins get 403 ErrAgentIdentity. Returns the new record's id."""
        with self.lock:
            agent = self.agents[agent_id]
            other = copy.deepcopy(agent)
            other.id = str(uuid.uuid4())
            self.agents[other.id] = other
            agent.access_key_id, agent.access_key = secrets.token_hex(10), secrets.token_urlsafe(16)
            self.changed.notify_all()
            return other.id

    def rotate_output_key(self, agent_id: str, output: str = "default") -> None:
        """Output key rotation: the next policy delivered to the agent carries a new API key for
        `output`; the old one is invalidated once the agent acks that policy (design §8.4)."""
        with self.lock:
            agent = self.agents[agent_id]
            agent.retired_output_keys.append(agent.output_keys.pop(output))

    def delete_agent(self, agent_id: str) -> None:
        with self.lock:
            self.agents.pop(agent_id, None)
            self.changed.notify_all()

    def agent(self, agent_id: Optional[str] = None) -> AgentRecord:
        with self.lock:
            if agent_id is None:
                assert len(self.agents) == 1, f"expected one agent, have {list(self.agents)}"
                return next(iter(self.agents.values()))
            return self.agents[agent_id]

    def ack_count(self, action_id: str) -> int:
        with self.lock:
            return len(self.acks.get(action_id, []))

    def ack_events(self, action_id: str) -> list[dict]:
        with self.lock:
            return list(self.acks.get(action_id, []))

    def routes(self, route: str) -> list[dict]:
        with self.lock:
            return [r for r in self.requests if r["route"] == route]

    def assert_clean(self) -> None:
        with self.lock:
            assert not self.violations, "Fleet Server stand-in saw protocol violations:\n" + "\n".join(self.violations)

    def violation(self, text: str) -> None:
        with self.lock:
            self.violations.append(text)

    # ----------------------------------------------------------------- request handling

    def check_schema(self, name: str, value: Any, what: str) -> None:
        for error in self.schemas.errors(name, value):
            self.violation(f"{what}: {error}")

    def take_fault(self, route: str) -> Optional[list]:
        """[regex, status, name, retry_after, honoured, html] of the next whole-request fault for this route."""
        with self.lock:
            for fault in self._faults:
                if fault[3] > 0 and fault[0].search(route):
                    fault[3] -= 1
                    return [fault[0], fault[1], fault[2], fault[4], fault[5], fault[6]]
        return None

    def take_fault_of(self, faults: list, route: str) -> Optional[list]:
        with self.lock:
            for fault in faults:
                if fault[1] > 0 and fault[0].search(route):
                    fault[1] -= 1
                    return fault
        return None

    # ----------------------------------------------------------------- timing invariants

    def not_before(self, key: str, seconds: float, why: str, unless: Any = None) -> None:
        """The client must not send its next `key` request sooner than `seconds` from now, unless
        `unless(body)` says that request's body may come at once."""
        with self.lock:
            self._not_before[key] = (time.monotonic() + seconds, why, unless)

    def check_not_before(self, key: str, body: Any) -> None:
        with self.lock:
            until, why, unless = self._not_before.pop(key, (0.0, "", None))
            early = until - time.monotonic()
            if early > 0 and not (unless and unless(body)):
                self.violation(f"{key}: {early:.2f} s before the wait after {why} allowed it")

    def open_checkin(self, agent_id: str, gone: Any) -> None:
        with self.lock:
            open_ = [g for g in self._open_checkins.get(agent_id, []) if not g()]  # a closed client's is over
            open_.append(gone)
            self._open_checkins[agent_id] = open_
            if len(open_) > 1:
                self.violation(f"two checkins open at once for {agent_id}")

    def close_checkin(self, agent_id: str, gone: Any) -> None:
        with self.lock:
            if gone in self._open_checkins.get(agent_id, []):
                self._open_checkins[agent_id].remove(gone)

    def answer_lost(self, route: str, agent_id: Optional[str], response: Any, request: Any) -> None:
        """The agent did not get this answer, though the request was applied."""
        with self.lock:
            if route == "acks":
                self._lost_acks.update(e.get("action_id") for e in (request or {}).get("events", []))
            if route == "checkin" and isinstance(response, dict) and response.get("ack_token"):
                agent = self.agents.get(agent_id or "")
                if agent:
                    agent.received_tokens.discard(response["ack_token"])

    def answer_received(self, route: str, agent_id: Optional[str], response: Any) -> None:
        with self.lock:
            if route == "checkin" and isinstance(response, dict) and response.get("ack_token"):
                agent = self.agents.get(agent_id or "")
                if agent:
                    agent.received_tokens.add(response["ack_token"])

    def check_headers(self, headers: Any, route: str) -> None:
        version = headers.get("Elastic-Api-Version")
        if version is not None:
            if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", version):
                raise HttpError(400, "ErrInvalidAPIVersionFormat", "invalid version format")
            if version != API_VERSION:
                raise HttpError(400, "ErrUnsupportedAPIVersion", "version is not supported")
        if not headers.get("X-Request-ID"):
            self.violation(f"{route}: no X-Request-ID header (Elastic Agent sends one per request)")
        if route in ("enroll", "checkin"):
            agent_ua = (headers.get("User-Agent") or "").lower()
            if not agent_ua.startswith("elastic agent "):
                raise HttpError(400, "InvalidUserAgent", "user-agent is invalid")
            m = UA_RE.match(agent_ua)
            major, minor = (int(x) for x in self.version.split(".")[:2])
            if not m:
                raise HttpError(400, "InvalidUserAgent", "user-agent is invalid")
            got = (int(m.group(1)), int(m.group(2)))
            if got < (7, 13) or got > (major, minor):
                raise HttpError(400, "UnsupportedVersion", "version is not supported")

    def api_key(self, headers: Any) -> tuple[str, str]:
        value = headers.get("Authorization")
        if value is None:
            raise HttpError(401, "ErrNoAuthHeader", "no authorization header")
        if not value.startswith("ApiKey "):
            raise HttpError(400, "ErrMalformedHeader", "malformed authorization header")
        try:
            decoded = base64.b64decode(value[7:], validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise HttpError(401, "ErrInvalidToken", "invalid token") from None
        if ":" not in decoded:
            raise HttpError(400, "ErrMalformedToken", "malformed token")
        key_id, key = decoded.split(":", 1)
        return key_id, key

    def status(self, headers: Any) -> tuple[int, dict]:
        body: dict = {"name": "fleet-server", "status": "HEALTHY" if self.healthy else "FAILED"}
        if headers.get("Authorization"):
            try:
                key_id, key = self.api_key(headers)
                if self._key_enabled(key_id, key):
                    body["version"] = {"number": self.version, "build_hash": "stand-in", "build_time": now_iso()}
            except HttpError:
                pass
        return (200 if self.healthy else 503), body

    def _key_enabled(self, key_id: str, key: str) -> bool:
        with self.lock:
            token = self.enrollment_tokens.get(key_id)
            if token and token["key"] == key and token["active"]:
                return True
            return any(a.access_key_id == key_id and a.access_key == key and a.active for a in self.agents.values())

    def enroll(self, headers: Any, body: dict) -> dict:
        self.check_schema("enrollRequest", body, "enroll request")
        key_id, key = self.api_key(headers)
        with self.lock:
            token = self.enrollment_tokens.get(key_id)
            if not token or token["key"] != key:
                raise HttpError(401, "ErrUnauthorized", "unauthorized")
            if not token["active"]:
                raise HttpError(401, "Unauthorized", "ApiKey not enabled")
            if body.get("type") not in ("PERMANENT", "EPHEMERAL", "TEMPORARY"):
                raise HttpError(400, "BadRequest", "unknown enroll request type")
            agent_id = body.get("id") or str(uuid.uuid4())
            existing = self.agents.get(agent_id)
            replace = body.get("replace_token", "")
            if existing and existing.active:
                stored = existing.replace_token_hash
                if (not stored or not replace or _pbkdf2(replace, stored[0]) != stored[1]
                        or existing.policy_id != token["policy_id"]):
                    raise HttpError(403, "AgentNotReplaceable", "existing agent cannot be replaced")
            salt = os.urandom(16)
            record = AgentRecord(
                id=agent_id, policy_id=token["policy_id"], access_key_id=secrets.token_hex(10),
                access_key=secrets.token_urlsafe(16),
                replace_token_hash=(salt, _pbkdf2(replace, salt)) if replace else None,
                tags=list(dict.fromkeys((body.get("metadata") or {}).get("tags") or [])),
                local_metadata=(body.get("metadata") or {}).get("local"))
            record.enroll_count = (existing.enroll_count if existing else 0) + 1
            if existing:
                record.delivered_actions = existing.delivered_actions
            meta = record.local_metadata
            if isinstance(meta, dict) and isinstance(meta.get("elastic", {}).get("agent"), dict):
                meta["elastic"]["agent"]["id"] = agent_id
            self.agents[agent_id] = record
            access = base64.b64encode(f"{record.access_key_id}:{record.access_key}".encode()).decode()
            return {"action": "created", "item": {
                "id": agent_id, "active": True, "policy_id": record.policy_id, "type": body["type"],
                "enrolled_at": now_iso(), "user_provided_metadata": None, "local_metadata": meta,
                "access_api_key_id": record.access_key_id, "access_api_key": access, "status": "online",
                "tags": record.tags}}

    def _agent_for(self, headers: Any, agent_id: str) -> AgentRecord:
        key_id, key = self.api_key(headers)
        with self.lock:
            agent = self.agents.get(agent_id)
            owner = next((a for a in self.agents.values() if a.access_key_id == key_id), None)
            if owner is None or owner.access_key != key:
                if agent is None:
                    raise HttpError(404, "AgentNotFound", "agent could not be found")
                raise HttpError(401, "ErrUnauthorized", "unauthorized")
            if agent is None:
                raise HttpError(404, "AgentNotFound", "agent could not be found")
            if owner is not agent:
                raise HttpError(403, "ErrAgentIdentity", "agent header contains wrong identifier")
            if agent.key_disabled:
                raise HttpError(401, "Unauthorized", "ApiKey not enabled")
            if not agent.active:
                raise HttpError(401, "ErrAgentInactive", "Agent inactive")
            return agent

    def _policy_action(self, agent: AgentRecord) -> Optional[dict]:
        policy = self.policies.get(agent.policy_id)
        if not policy or policy["revision"] <= (agent.policy_revision_idx or 0):
            return None
        policy = copy.deepcopy(policy)
        for name, output in (policy.get("outputs") or {}).items():
            if output.get("type") == "elasticsearch":
                if name not in agent.output_keys:
                    key_id, key = secrets.token_hex(10), secrets.token_urlsafe(16)
                    agent.output_keys[name] = f"{key_id}:{key}"
                    self.output_keys[key_id] = key
                output["api_key"] = agent.output_keys[name]
        policy["secret_paths"] = []
        agent.delivered_revisions.add(policy["revision"])
        return {"id": f"policy:{agent.policy_id}:{policy['revision']}", "type": "POLICY_CHANGE", "agent_id": agent.id,
                "created_at": now_iso(), "input_type": "", "data": {"policy": policy}}

    def _graceful_answer(self, agent_id: str, error: HttpError) -> Optional[dict]:
        """graceful_force_unenroll: the first checkin of a revoked agent gets a POLICY_CHANGE whose
        policy is {}, the second an UNENROLL (both with random ids, outside .fleet-actions: the
        ack_token is ""), later ones the 401 (design §2.3 item 6)."""
        if not self.graceful_force_unenroll or error.status != 401:  # invalid or disabled key, inactive agent
            return None
        with self.lock:
            agent = self.agents[agent_id]
            step, agent.graceful_answers = agent.graceful_answers, agent.graceful_answers + 1
            if step > 1:
                return None
            kind, data = ("POLICY_CHANGE", {"policy": {}}) if step == 0 else ("UNENROLL", None)
            action = {"id": str(uuid.uuid4()), "type": kind, "agent_id": agent_id, "created_at": now_iso(),
                      "input_type": "", "data": data}
            agent.delivered_actions.add(action["id"])
            return {"action": "checkin", "ack_token": "", "actions": [action]}

    def _pending(self, agent: AgentRecord) -> list[ActionDoc]:
        now = datetime.now(timezone.utc)
        out = []
        for doc in self.actions:
            if doc.agent_id != agent.id or doc.seq <= agent.seq:
                continue
            if doc.expiration and datetime.fromisoformat(doc.expiration.replace("Z", "+00:00")) <= now:
                continue
            out.append(doc)
        return out

    def checkin(self, headers: Any, agent_id: str, body: dict, gone=lambda: False) -> Optional[dict]:
        self.check_schema("checkinRequest", body, "checkin request")
        if not body.get("status"):
            raise HttpError(400, "BadRequest", "checkin status missing")
        try:
            agent = self._agent_for(headers, agent_id)
        except HttpError as e:
            graceful = self._graceful_answer(agent_id, e)
            if graceful is None:
                raise
            return graceful
        with self.lock:
            if agent.unenroll_acked:
                self.violation(f"checkin by {agent_id} after its UNENROLL was acked")
            token = body.get("ack_token")
            if token and token not in agent.issued_tokens:
                self.violation(f"ack_token {token!r} was never issued to {agent_id}")
            elif token and token not in agent.received_tokens:
                self.violation(f"ack_token {token!r} came only in an answer {agent_id} never received")
            if token and token in agent.issued_tokens:
                # resolveSeqNo: the token's action, not the last one delivered, is where the agent is.
                agent.seq = next(d.seq for d in self.actions if d.token == token)
            reported = body.get("policy_revision_idx")
            if reported is not None and body.get("agent_policy_id") == agent.policy_id:
                if reported not in agent.delivered_revisions and reported != 0:
                    self.violation(f"{agent_id} reported revision {reported}, never delivered")
                agent.policy_revision_idx = reported  # implicit ack (processPolicyDetails)
            agent.checkins += 1
            agent.last_status, agent.last_message = body["status"], body.get("message", "")
            agent.components = body.get("components")
            agent.local_metadata = body.get("local_metadata", agent.local_metadata)
        poll = self.poll_seconds
        deadline = time.monotonic() + poll
        with self.lock:
            while True:
                if not agent.active or self.agents.get(agent_id) is not agent:
                    raise HttpError(401, "ErrAgentInactive", "Agent inactive")
                pending = self._pending(agent)
                if pending:
                    agent.issued_tokens.append(pending[-1].token)
                    for doc in pending:
                        agent.delivered_actions.add(doc.id)
                    actions = [self._render(doc) for doc in pending]
                    return {"action": "checkin", "ack_token": pending[-1].token, "actions": actions}
                policy = self._policy_action(agent)
                if policy:
                    agent.delivered_actions.add(policy["id"])
                    return {"action": "checkin", "ack_token": "", "actions": [policy]}
                left = deadline - time.monotonic()
                if gone():
                    return None  # the client closed the connection (it was killed or gave up)
                if left <= 0 or self._server is None:
                    return {"action": "checkin", "ack_token": ""}
                self.changed.wait(min(left, 0.2))
                deadline += self.poll_seconds - poll  # a test changed the poll's length meanwhile
                poll = self.poll_seconds

    def _render(self, doc: ActionDoc) -> dict:
        action = {"id": doc.id, "type": doc.type, "agent_id": doc.agent_id, "created_at": now_iso(),
                  "input_type": doc.input_type, "data": doc.data}
        if doc.start_time:
            action["start_time"] = doc.start_time
        if doc.expiration:
            action["expiration"] = doc.expiration
        return action

    def ack(self, headers: Any, agent_id: str, body: dict) -> tuple[int, dict]:
        self.check_schema("ackRequest", body, "ack request")
        agent = self._agent_for(headers, agent_id)
        items, top = [], 200
        with self.lock:
            for event in body.get("events", []):
                self.check_schema("genericEvent", event, "ack event")
                if not _is_datetime(event.get("timestamp")):
                    self.violation(f"ack timestamp {event.get('timestamp')!r} is not RFC 3339")
                action_id = event.get("action_id", "")
                status = 200
                if event.get("agent_id") != agent_id:
                    status = 400
                elif action_id not in agent.delivered_actions:
                    self.violation(f"ack for action {action_id} that was never delivered to {agent_id}")
                    status = 404
                else:
                    previous = self.acks.setdefault(action_id, [])
                    if previous and action_id in self._lost_acks:
                        # The retry of an ack whose answer was lost: accepted, counted once.
                        self.ack_retries[action_id] = self.ack_retries.get(action_id, 0) + 1
                        self._lost_acks.discard(action_id)
                        items.append({"status": 200, "message": "OK"})
                        continue
                    if previous:
                        self.violation(f"action {action_id} acked {len(previous) + 1} times")
                    previous.append(event)
                    if action_id.startswith("policy:"):
                        if not event.get("error"):
                            rev = int(action_id.rsplit(":", 1)[1])
                            agent.policy_revision_idx = max(agent.policy_revision_idx or 0, rev)
                            for key in agent.retired_output_keys:  # the agent runs with the new key now
                                self.output_keys.pop(key.split(":")[0], None)
                                self.revoked_output_keys.add(key.split(":")[0])
                            agent.retired_output_keys.clear()
                    else:
                        doc = next((d for d in self.actions if d.id == action_id), None)
                        if doc and doc.type == "INPUT_ACTION":
                            # The spec's inputEvent: an input action's ack carries its input fields.
                            self.check_schema("inputEvent", event, "INPUT_ACTION ack event")
                            for key in ("started_at", "completed_at"):
                                if not _is_datetime(event.get(key)):
                                    self.violation(f"INPUT_ACTION ack {key} {event.get(key)!r} is not RFC 3339")
                        if doc and doc.type == "UNENROLL" and not event.get("error"):
                            agent.unenroll_acked = True
                            agent.active = False
                            for key in agent.output_keys.values():
                                self.output_keys.pop(key.split(":")[0], None)
                items.append({"status": status, "message": "OK" if status == 200 else "Not Found"})
                top = max(top, status)
            self.changed.notify_all()
        response: dict = {"action": "acks", "items": items}
        if top >= 400:
            response["errors"] = True
        return top, response

    def audit_unenroll(self, headers: Any, agent_id: str, body: dict) -> dict:
        self.check_schema("auditUnenrollRequest", body, "audit/unenroll request")
        self._agent_for(headers, agent_id)
        with self.lock:
            self.agents[agent_id].last_message = f"audit: {body.get('reason')}"
        return {}


class _Server(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass


AGENT_ROUTE = re.compile(r"^/api/fleet/agents/([^/]+)/(checkin|acks|audit/unenroll)$")


def _make_handler(fleet: FleetServer) -> type:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _encode(self, status: int, payload: Any, route: str,
                    retry_after: Optional[str] = None) -> tuple[bytes, dict]:
            data = json.dumps(payload).encode()
            headers = {"Content-Type": "application/json; charset=utf-8" if status >= 400 else "application/json",
                       "X-Request-Id": self.headers.get("X-Request-ID") or str(uuid.uuid4())}
            if status != 429:
                headers["Elastic-Api-Version"] = API_VERSION
            if retry_after is not None:
                headers["Retry-After"] = retry_after
            if (route == "checkin" and len(data) > 1024 and "gzip" in self.headers.get_all("Accept-Encoding", [])):
                data = gzip.compress(data)
                headers["Content-Encoding"] = "gzip"
            return data, headers

        def _head(self, status: int, headers: dict, length: int) -> None:
            self.send_response(status)
            for k, v in headers.items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(length))
            self.end_headers()

        def _answer(self, status: int, payload: Any, route: str, retry_after: Optional[str] = None) -> None:
            data, headers = self._encode(status, payload, route, retry_after)
            self._head(status, headers, len(data))
            self.wfile.write(data)

        def _gone(self) -> bool:
            """Whether the client closed its side (it was killed, or it gave up)."""
            try:
                ready, _, _ = select.select([self.connection], [], [], 0)
                if not ready:
                    return False
                if isinstance(self.connection, ssl.SSLSocket):
                    return True  # a client waiting for its answer sends nothing: a close alert or FIN
                return self.connection.recv(1, socket.MSG_PEEK) == b""
            except (OSError, ValueError):
                return True

        def _wait_gone(self, seconds: Optional[float] = None) -> bool:
            """Waits until the client leaves (True) or `seconds` pass (False)."""
            deadline = None if seconds is None else time.monotonic() + seconds
            while fleet._server is not None:
                if self._gone():
                    return True
                left = 0.2 if deadline is None else min(0.2, deadline - time.monotonic())
                if left <= 0:
                    return False
                try:
                    select.select([self.connection], [], [], left)
                except (OSError, ValueError):
                    return True
            return True

        def _body(self, route: str, record: dict) -> Any:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            record["size"] = len(raw)
            if self.headers.get("Content-Encoding") == "gzip":
                if route != "checkin":
                    fleet.violation(f"{route}: gzip request body (only checkin accepts one)")
                raw = gzip.decompress(raw)
            try:
                record["body"] = json.loads(raw or b"null")
            except json.JSONDecodeError as e:
                raise HttpError(400, "BadRequest", f"decode failure: {e}") from None
            if record["size"] > fleet.max_body.get(route, record["size"]):
                raise HttpError(400, "BadRequest", "http: request body too large")
            return record["body"]

        def _route(self) -> tuple[str, Optional[str]]:
            path = self.path.split("?")[0]
            if path == "/api/status":
                return "status", None
            if path == "/api/fleet/agents/enroll":
                return "enroll", None
            m = AGENT_ROUTE.match(path)
            return (m.group(2), m.group(1)) if m else ("", None)

        def do_GET(self) -> None:
            route, _ = self._route()
            if route != "status":
                return self._text(404 if not route else 405)
            status, body = fleet.status(self.headers)
            fleet.check_schema("statusResponse", body, "status response")
            with fleet.lock:
                fleet.requests.append({"route": "status", "status": status, "headers": dict(self.headers), "body": None,
                                       "time": time.monotonic()})
            self._answer(status, body, "status")

        def _text(self, status: int) -> None:
            self.send_response(status)
            self.send_header("Content-Length", "0")
            self.end_headers()

        def _close(self, reset: bool = False) -> None:
            self.close_connection = True
            try:
                if reset:  # RST instead of FIN
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.connection.close()
                else:
                    self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass

        def _bad_answer(self, kind: str, params: dict, status: int, response: Any, route: str) -> bool:
            """Answers badly; True when the client got the whole answer all the same."""
            data, headers = self._encode(status, response, route)
            try:
                if kind == "lose":
                    self._close()
                    return False
                if kind == "reset":
                    self._head(status, headers, len(data))
                    self.wfile.write(data[:len(data) // 2])
                    time.sleep(0.05)  # the half answer reaches the client before the reset
                    self._close(reset=True)
                    return False
                if kind == "garble":
                    self._head(status, {"Content-Type": "text/html"}, len(HTML_PAGE))
                    self.wfile.write(HTML_PAGE)
                    return False
                if kind == "truncate":
                    self._head(status, headers, len(data) + 64)
                    self.wfile.write(data)
                    self._close()
                    return False
                endless = params["endless"]
                self._head(status, headers, len(data) + (10**9 if endless else 0))
                step = params["seconds"] / 20
                chunk = max(1, len(data) // 20)
                for i in range(0, len(data), chunk):
                    if i and self._wait_gone(step):
                        return False
                    self.wfile.write(data[i:i + chunk])
                while endless:
                    if self._wait_gone(step):
                        return False
                    self.wfile.write(b" ")  # JSON allows trailing white space: never a complete answer
                return True
            except OSError:
                return False

        def do_POST(self) -> None:
            route, agent_id = self._route()
            if not route:
                return self._text(404)
            if route == "status":
                return self._text(405)
            key = f"{route}:{agent_id or ''}"
            record = {"route": route, "agent_id": agent_id, "headers": dict(self.headers), "time": time.monotonic()}
            if route == "checkin":
                fleet.open_checkin(agent_id, self._gone)
            try:
                self._handle(route, agent_id, key, record)
            finally:
                if route == "checkin":
                    fleet.close_checkin(agent_id, self._gone)

        def _handle(self, route: str, agent_id: Optional[str], key: str, record: dict) -> None:
            retry_after = None
            try:
                try:
                    body = self._body(route, record)
                finally:
                    fleet.check_not_before(key, record.get("body"))
                if fleet.take_fault_of(fleet._hangs, route):
                    record["status"] = "hang"
                    with fleet.lock:
                        fleet.requests.append(record)
                    self._wait_gone()
                    if route in ("checkin", "enroll"):
                        fleet.not_before(key, fleet.min_retry_gap, "a request that was never answered")
                    return
                fault = fleet.take_fault(route)
                if fault:
                    record["html"] = fault[5]
                    raise HttpError(fault[1], fault[2], fault[2], fault[3], fault[4])
                fleet.check_headers(self.headers, route)
                if route == "enroll":
                    status, response, schema = 200, fleet.enroll(self.headers, body), "enrollResponse"
                elif route == "checkin":
                    status, response, schema = 200, fleet.checkin(self.headers, agent_id, body, self._gone), "checkinResponse"
                    if response is None:
                        return
                elif route == "acks":
                    (status, response), schema = fleet.ack(self.headers, agent_id, body), "ackResponse"
                else:
                    status, response, schema = 200, fleet.audit_unenroll(self.headers, agent_id, body), None
                if schema:
                    fleet.check_schema(schema, response, f"{route} response")
                for action in response.get("actions", []) if route == "checkin" else []:
                    fleet.check_schema("action", action, "checkin response action")
                    if action["type"] in ACTION_DATA_SCHEMA:
                        fleet.check_schema(ACTION_DATA_SCHEMA[action["type"]], action["data"], f"{action['type']} data")
            except HttpError as e:
                status, response = e.status, {"statusCode": e.status, "error": e.name, "message": e.message}
                fleet.check_schema("error", response, "error response")
                if callable(e.retry_after):  # e.g. an HTTP-date made when the answer is written
                    e.retry_after = e.retry_after()
                retry_after = e.retry_after
                if route in ("checkin", "enroll"):  # the client must back off before its next try
                    if e.retry_after is not None:
                        wait = e.honoured if e.honoured is not None else retry_after_seconds(e.retry_after)
                        fleet.not_before(key, max(wait, fleet.min_retry_gap), f"Retry-After: {e.retry_after}")
                    elif status == 404 and route == "checkin" and fleet.deleted_gap:
                        fleet.not_before(key, fleet.deleted_gap, "a 404 for a deleted agent")
                    elif e.name == "ErrAgentIdentity" and route == "checkin" and fleet.deleted_gap:
                        fleet.not_before(key, fleet.deleted_gap, "a 403 for another agent's key")
                    elif (status == 400 and route == "checkin" and e.name not in ("InvalidUserAgent", "UnsupportedVersion")
                          and _full_checkin(record.get("body"))):
                        # A body refused: one retry without components and local_metadata may come at once.
                        fleet.not_before(key, fleet.min_retry_gap, f"an error answer ({status})",
                                         unless=lambda body: not _full_checkin(body))
                    else:
                        fleet.not_before(key, fleet.min_retry_gap, f"an error answer ({status})")
            record["status"] = status
            record["response"] = response
            with fleet.lock:
                fleet.requests.append(record)
            bad = fleet.take_bad_answer(route, response) if status == 200 else None
            fleet.answer_received(route, agent_id, response)
            if bad:
                record["bad_answer"] = bad[2]
                record["answer_received"] = self._bad_answer(bad[2], bad[3], status, response, route)
                if not record["answer_received"]:
                    fleet.answer_lost(route, agent_id, response, record.get("body"))
                    if route in ("checkin", "enroll"):
                        fleet.not_before(key, fleet.min_retry_gap, f"an answer that did not arrive ({bad[2]})")
                return
            try:
                if record.get("html"):
                    self._head(status, {"Content-Type": "text/html"}, len(HTML_PAGE))
                    self.wfile.write(HTML_PAGE)
                else:
                    self._answer(status, response, route, retry_after)
            except OSError:
                fleet.answer_lost(route, agent_id, response, record.get("body"))

        def do_PUT(self) -> None:
            self._text(405)

        do_DELETE = do_PUT

    return Handler


def fim_policy(output_hosts: list[str], paths: list[str], namespace: str = "default",
               hash_types: Optional[list[str]] = None, extra_stream: Optional[dict] = None,
               output: Optional[dict] = None) -> dict:
    """A policy as Kibana builds it for the fim package's defaults (design §4.4), with these paths."""
    package_policy = "5f0c6d1e-3a8b-4e43-9d0a-77c1b2e0aa10"
    stream = {
        "id": f"audit/file_integrity-fim.event-{package_policy}",
        "data_stream": {"type": "logs", "dataset": "fim.event"},
        "type": "audit/file_integrity",
        "paths": paths, "recursive": True, "scan_at_start": True, "backend": "auto",
        "hash_types": hash_types or ["sha1"], "max_file_size": "100 MiB", "scan_rate_per_sec": "50 MiB",
        "exclude_files": ["(?i)\\.sw[nop]$", "~$", "/\\.git($|/)", "\\.tmp$", "\\.log$", "\\.db$"],
        "include_files": None, "keep_null": False, "tags": ["fim-event"],
        "processors": [{"add_host_metadata": {"replace_fields": True}}],
        **(extra_stream or {}),
    }
    return {
        "outputs": {"default": output or {"type": "elasticsearch", "hosts": output_hosts, "preset": "balanced"}},
        "output_permissions": {"default": {"_elastic_agent_checks": {"cluster": ["monitor"]}, package_policy: {
            "indices": [{"names": [f"logs-fim.event-{namespace}"], "privileges": ["auto_configure", "create_doc"]}]}}},
        "agent": {"download": {"sourceURI": "https://artifacts.elastic.co/downloads/"},
                  "monitoring": {"enabled": False, "logs": False, "metrics": False, "traces": False},
                  "features": {}, "protection": {"enabled": False, "uninstall_token_hash": "", "signing_key": "MFkw"}},
        "fleet": {"hosts": []},
        "secret_references": [],
        "inputs": [{
            "id": f"audit/file_integrity-fim-{package_policy}", "name": "fim-1", "revision": 1,
            "type": "audit/file_integrity", "use_output": "default", "data_stream": {"namespace": namespace},
            "package_policy_id": package_policy,
            "meta": {"package": {"name": "fim", "version": "1.15.1", "policy_template": "fim"}},
            "streams": [stream]}],
    }
