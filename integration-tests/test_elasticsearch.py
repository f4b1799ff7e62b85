"""output.elasticsearch: the real binary against the Elasticsearch-compatible test endpoint."""

from __future__ import annotations

import base64
import json
import subprocess
from pathlib import Path
from typing import Optional

import pytest

from conftest import run_cli, wait_for, write_config, yaml_str
from es_endpoint import EsEndpoint

DATA_STREAM = "logs-fim.event-default"


def make_tree(root: Path, files: int) -> set[str]:
    """root with `files` small files; returns every path a scan reports (root included)."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(files):
        (root / f"file{i:03d}.txt").write_text(f"content {i}\n")
    return {str(root)} | {str(root / f"file{i:03d}.txt") for i in range(files)}


def es_config(workspace: Path, tree: Path, hosts: list[str], extra: str = "", setup: str = "") -> Path:
    text = (
        "fimbeat.modules:\n"
        "- module: file_integrity\n"
        f"  paths: [{yaml_str(tree)}]\n"
        "  mime_type: false\n"
        "output.elasticsearch:\n"
        f"  hosts: [{', '.join(yaml_str(h) for h in hosts)}]\n"
        "  backoff.init: 50ms\n"
        "  backoff.max: 200ms\n"
        + "".join(f"  {line}\n" for line in extra.splitlines() if line)
        + setup
    )
    return write_config(workspace / "fimbeat.yml", text)


def paths_in(es: EsEndpoint, name: str = DATA_STREAM) -> set[str]:
    return {d["file"]["path"] for d in es.documents(name)}


def delivered(es: EsEndpoint, expected: set[str], name: str = DATA_STREAM):
    return lambda: paths_in(es, name) == expected


def assert_stopped_undelivered(agent, count: int) -> None:
    """The agent stops promptly while Elasticsearch refuses it; the events it held are counted as
    failed, and the stop is still clean (exit 0): the durable queue keeps them for the next start."""
    assert agent.stop() == 0
    metrics = agent.shutdown_metrics()["output"]["events"]
    assert metrics["failed"] == count and metrics["acked"] == 0


@pytest.fixture
def endpoint():
    endpoints: list[EsEndpoint] = []

    def make(start: bool = True, **kwargs) -> EsEndpoint:
        es = EsEndpoint(**kwargs)
        endpoints.append(es)
        return es.start() if start else es

    yield make
    for es in endpoints:
        es.stop()


def test_events_land_in_the_data_stream_with_create_and_id(workspace, start_agent, endpoint):
    es = endpoint()
    expected = make_tree(workspace / "tree", 5)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url]))
    wait_for(delivered(es, expected), message="every event in the data stream", agent=agent)
    assert es.is_data_stream(DATA_STREAM)
    # Each document under its deterministic _id, sent as `create` (a data stream refuses `index`).
    ids = es.ids(DATA_STREAM)
    assert len(ids) == len(expected) and all(ids) and len(set(ids)) == len(ids)
    assert es.stat("rejected") == 0 and es.stat("gzip_requests") >= 1
    # Index management ran on connect: the ILM policy and the template for the data stream.
    assert "fimbeat" in es.policies
    template = es.templates["logs-fim.event"]
    assert template["index_patterns"] == ["logs-fim.event-*"] and "data_stream" in template
    assert agent.stop() == 0
    metrics = agent.shutdown_metrics()
    assert metrics["output"]["events"]["acked"] == len(expected)


def test_endpoint_down_at_start_then_everything_is_delivered(workspace, start_agent, endpoint):
    es = endpoint(start=False)  # the port is bound but not listening: connections are refused
    expected = make_tree(workspace / "tree", 4)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url], extra="max_retries: -1"))
    wait_for(lambda: any("retrying" in m for m in agent.log_messages()), message="a failed attempt", agent=agent)
    es.start()
    wait_for(delivered(es, expected), message="delivery once the endpoint is up", agent=agent)
    assert agent.stop() == 0


def test_per_item_429_is_retried_and_delivered(workspace, start_agent, endpoint):
    es = endpoint()
    expected = make_tree(workspace / "tree", 6)
    es.fail_items(429, lambda doc: doc.get("file", {}).get("name", "").startswith("file00"), count=4)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url]))
    wait_for(delivered(es, expected), message="retried items delivered", agent=agent)
    assert es.stat("item_faults") == 4
    assert agent.stop() == 0
    metrics = agent.shutdown_metrics()
    assert metrics["output"]["events"]["toomany"] == 4
    # Every event was acknowledged, or (stopped between Elasticsearch storing it and fimbeat reading
    # the answer) is still in the durable queue, to be answered 409 at the next start.
    assert metrics["output"]["events"]["acked"] + metrics["queue"]["events"] == len(expected), metrics


def test_mapping_error_goes_to_the_dead_letter_index(workspace, start_agent, endpoint):
    es = endpoint()
    expected = make_tree(workspace / "tree", 3)
    bad = str(workspace / "tree" / "file001.txt")
    es.fail_items(400, lambda doc: doc.get("file", {}).get("path") == bad)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url],
                                  extra="non_indexable_policy.dead_letter_index.index: fim-dead-letters"))
    wait_for(delivered(es, expected - {bad}), message="the indexable events", agent=agent)
    letters = wait_for(lambda: es.documents("fim-dead-letters"), message="the dead letter", agent=agent)
    assert len(letters) == 1
    assert letters[0]["error"]["type"] in ("document_parsing_exception", "mapper_parsing_exception")
    assert bad in letters[0]["message"] and "@timestamp" in letters[0]
    assert agent.stop() == 0
    assert es.stat("item_faults") == 1  # never retried in a loop
    assert agent.shutdown_metrics()["output"]["events"]["acked"] == len(expected)


def test_mapping_error_is_dropped_by_default(workspace, start_agent, endpoint):
    es = endpoint()
    expected = make_tree(workspace / "tree", 3)
    bad = str(workspace / "tree" / "file002.txt")
    es.fail_items(400, lambda doc: doc.get("file", {}).get("path") == bad)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url]))
    wait_for(delivered(es, expected - {bad}), message="the indexable events", agent=agent)
    wait_for(lambda: any("dropped" in m and "refused" in m for m in agent.log_messages()),
             message="the drop logged", agent=agent)
    assert agent.stop() == 0
    assert es.stat("item_faults") == 1
    assert agent.shutdown_metrics()["output"]["events"]["dropped"] == 1


def test_real_mapping_conflict_with_the_installed_template(workspace, start_agent, endpoint):
    es = endpoint()
    expected = make_tree(workspace / "tree", 2)
    # A template that maps file.size as an ip: every document with a size is refused by the mapping.
    es.templates["conflict"] = {"index_patterns": [DATA_STREAM], "data_stream": {}, "priority": 500,
                                "template": {"mappings": {"properties": {"file": {"properties": {
                                    "size": {"type": "ip"}}}}}}}
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url]))
    wait_for(lambda: es.stat("rejected") >= 2, message="the files refused by the mapping", agent=agent)
    wait_for(delivered(es, {str(workspace / "tree")}), message="the directory (no size) stored", agent=agent)
    assert agent.stop() == 0
    assert agent.shutdown_metrics()["output"]["events"]["dropped"] == 2


def test_413_splits_the_batch(workspace, start_agent, endpoint):
    es = endpoint(max_body_bytes=3000)
    expected = make_tree(workspace / "tree", 12)
    # The index template alone is larger than the limit: this test is about bulk requests only.
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url], extra="compression_level: 0",
                                  setup="setup.template.enabled: false\nsetup.ilm.enabled: false\n"))
    wait_for(delivered(es, expected), message="every event after splitting", agent=agent)
    assert any(status == 413 for _, _, status in es.request_log())
    assert agent.stop() == 0


def test_whole_request_failures_fail_over_to_the_next_host(workspace, start_agent, endpoint):
    first, second = endpoint(), endpoint()
    first.fail_requests(503, count=1000)
    expected = make_tree(workspace / "tree", 4)
    agent = start_agent(es_config(workspace, workspace / "tree", [first.url, second.url], extra="max_retries: -1"))
    wait_for(delivered(second, expected), message="delivery through the second host", agent=agent)
    assert agent.stop() == 0


def test_wrong_credentials_clear_error_and_nothing_delivered(workspace, start_agent, endpoint):
    es = endpoint(users={"fim": "right"})
    make_tree(workspace / "tree", 2)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url],
                                  extra="username: fim\npassword: Wr0ngPassw0rd"))
    wait_for(lambda: any("authentication failed: check username/password or api_key" in m
                         for m in agent.log_messages()), message="the auth error", agent=agent)
    assert es.count(DATA_STREAM) == 0
    assert "Wr0ngPassw0rd" not in agent.stderr_text()
    assert_stopped_undelivered(agent, 3)


def test_api_key_authenticates(workspace, start_agent, endpoint):
    es = endpoint(api_keys={"key-id": "s3cret"})
    expected = make_tree(workspace / "tree", 2)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url], extra='api_key: "key-id:s3cret"'))
    wait_for(delivered(es, expected), message="delivery with an API key", agent=agent)
    assert "s3cret" not in agent.stderr_text()
    assert agent.stop() == 0


def test_old_elasticsearch_is_refused_clearly(workspace, start_agent, endpoint):
    es = endpoint(version="7.17.9")
    make_tree(workspace / "tree", 1)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url]))
    wait_for(lambda: any("needs 8.0 or later" in m for m in agent.log_messages()), message="the version error",
             agent=agent)
    assert es.count(DATA_STREAM) == 0
    assert_stopped_undelivered(agent, 2)


def test_plain_index_instead_of_the_data_stream(workspace, start_agent, endpoint):
    es = endpoint()
    expected = make_tree(workspace / "tree", 3)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url], extra="index: fim-plain"))
    wait_for(delivered(es, expected, "fim-plain"), message="delivery into the plain index", agent=agent)
    assert not es.is_data_stream("fim-plain") and es.count(DATA_STREAM) == 0
    assert all(es.ids("fim-plain"))
    assert agent.stop() == 0


def test_dropped_connections_are_retried(workspace, start_agent, endpoint):
    es = endpoint()
    es.drop_connections(3)
    expected = make_tree(workspace / "tree", 3)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url], extra="max_retries: -1"))
    wait_for(delivered(es, expected), message="delivery after dropped connections", agent=agent)
    assert es.stat("dropped_connections") == 3
    assert agent.stop() == 0


def test_a_slow_server_times_out_and_is_retried(workspace, start_agent, endpoint):
    es = endpoint()
    es.slow(3.0)
    expected = make_tree(workspace / "tree", 2)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url], extra="timeout: 300ms\nmax_retries: -1"))
    wait_for(lambda: any("Timeout was reached" in m or "timed out" in m for m in agent.log_messages()),
             message="a timeout", agent=agent)
    es.slow(0)
    wait_for(delivered(es, expected), message="delivery once the server is fast again", agent=agent)
    assert agent.stop() == 0


def test_setup_disabled_installs_nothing(workspace, start_agent, endpoint):
    es = endpoint()
    expected = make_tree(workspace / "tree", 1)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url],
                                  setup="setup.template.enabled: false\nsetup.ilm.enabled: false\n"))
    wait_for(delivered(es, expected), message="delivery", agent=agent)
    assert es.templates == {} and es.policies == {}
    assert agent.stop() == 0


# ------------------------------------------------------------------------------------------ TLS


def openssl(*args: str) -> None:
    subprocess.run(["openssl", *args], check=True, capture_output=True)


@pytest.fixture(scope="module")
def pki(tmp_path_factory) -> dict[str, Path]:
    """A CA, a server certificate for 127.0.0.1 signed by it, and an unrelated second CA."""
    d = tmp_path_factory.mktemp("pki")
    for name in ("ca", "other-ca"):
        openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-subj", f"/CN=fimbeat test {name}",
                "-keyout", str(d / f"{name}.key"), "-out", str(d / f"{name}.crt"))
    openssl("req", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=127.0.0.1", "-keyout", str(d / "server.key"),
            "-out", str(d / "server.csr"))
    (d / "san.ext").write_text("subjectAltName=IP:127.0.0.1\n")
    openssl("x509", "-req", "-in", str(d / "server.csr"), "-CA", str(d / "ca.crt"), "-CAkey", str(d / "ca.key"),
            "-CAcreateserial", "-days", "2", "-extfile", str(d / "san.ext"), "-out", str(d / "server.crt"))
    return {"ca": d / "ca.crt", "other": d / "other-ca.crt", "cert": d / "server.crt", "key": d / "server.key"}


def fingerprint(cert: Path) -> str:
    out = subprocess.run(["openssl", "x509", "-in", str(cert), "-noout", "-fingerprint", "-sha256"],
                         check=True, capture_output=True, text=True).stdout
    return out.strip().split("=", 1)[1].replace(":", "").lower()


def test_tls_with_the_right_ca(workspace, start_agent, endpoint, pki):
    es = endpoint(certfile=str(pki["cert"]), keyfile=str(pki["key"]))
    expected = make_tree(workspace / "tree", 2)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url],
                                  extra=f"ssl.certificate_authorities: [{yaml_str(pki['ca'])}]"))
    wait_for(delivered(es, expected), message="delivery over TLS", agent=agent)
    assert agent.stop() == 0


def test_tls_client_certificate(workspace, start_agent, endpoint, pki):
    es = endpoint(certfile=str(pki["cert"]), keyfile=str(pki["key"]), client_ca=str(pki["ca"]))
    expected = make_tree(workspace / "tree", 1)
    ca = f"ssl.certificate_authorities: [{yaml_str(pki['ca'])}]"
    # The server certificate is signed by the CA the server trusts for clients: reuse it as the client's.
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url],
                                  extra=f"{ca}\nssl.certificate: {yaml_str(pki['cert'])}\nssl.key: {yaml_str(pki['key'])}"))
    wait_for(delivered(es, expected), message="delivery with a client certificate", agent=agent)
    assert agent.stop() == 0


def test_tls_client_certificate_missing_is_refused(fimbeat_bin, workspace, endpoint, pki):
    es = endpoint(certfile=str(pki["cert"]), keyfile=str(pki["key"]), client_ca=str(pki["ca"]))
    config = cli_config(workspace, [es.url], extra=f"ssl.certificate_authorities: [{yaml_str(pki['ca'])}]")
    result = run_cli(fimbeat_bin, "test", "output", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 1
    assert "connection... OK" in result.stdout, result.stdout
    assert "TLS... ERROR" in result.stdout and "requires a client certificate" in result.stdout, result.stdout


def test_tls_with_a_ca_fingerprint(workspace, start_agent, endpoint, pki):
    # The server sends its chain (leaf + CA); the CA is trusted only through its fingerprint.
    chain = pki["cert"].parent / "chain.crt"
    chain.write_text(pki["cert"].read_text() + pki["ca"].read_text())
    es = endpoint(certfile=str(chain), keyfile=str(pki["key"]))
    expected = make_tree(workspace / "tree", 2)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url],
                                  extra=f"ssl.ca_trusted_fingerprint: {fingerprint(pki['ca'])}"))
    wait_for(delivered(es, expected), message="delivery over TLS", agent=agent)
    assert agent.stop() == 0


def test_tls_with_the_wrong_ca_fails_clearly(workspace, start_agent, endpoint, pki):
    es = endpoint(certfile=str(pki["cert"]), keyfile=str(pki["key"]))
    make_tree(workspace / "tree", 1)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url],
                                  extra=f"ssl.certificate_authorities: [{yaml_str(pki['other'])}]"))
    wait_for(lambda: any("TLS" in m and "certificate_authorities" in m for m in agent.log_messages()),
             message="the TLS error", agent=agent)
    assert es.count(DATA_STREAM) == 0
    assert_stopped_undelivered(agent, 2)


def test_tls_verification_none_warns(workspace, start_agent, endpoint, pki):
    es = endpoint(certfile=str(pki["cert"]), keyfile=str(pki["key"]))
    expected = make_tree(workspace / "tree", 1)
    agent = start_agent(es_config(workspace, workspace / "tree", [es.url], extra="ssl.verification_mode: none"))
    wait_for(delivered(es, expected), message="delivery without verification", agent=agent)
    assert agent.stop() == 0
    warnings = [r for r in agent.log_records() if "verification_mode is none" in r.get("message", "")]
    assert len(warnings) == 1 and warnings[0]["log.level"] in ("warn", "warning")


# ------------------------------------------------------------------------------ CLI commands


def cli_config(workspace: Path, hosts: list[str], extra: str = "") -> Path:
    make_tree(workspace / "tree", 1)
    return es_config(workspace, workspace / "tree", hosts, extra=extra)


def test_test_output_succeeds(fimbeat_bin, workspace, endpoint, pki):
    es = endpoint(certfile=str(pki["cert"]), keyfile=str(pki["key"]), users={"fim": "pw"})
    config = cli_config(workspace, [es.url], extra=f"username: fim\npassword: pw\n"
                                                  f"ssl.certificate_authorities: [{yaml_str(pki['ca'])}]")
    result = run_cli(fimbeat_bin, "test", "output", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    for line in ("parse url... OK", "connection... OK", "TLS... OK", "talk to server... OK", "version: 8.15.0",
                 f"write permission on {DATA_STREAM}... OK"):
        assert line in result.stdout, result.stdout


def test_test_output_without_security_cannot_check_privileges(fimbeat_bin, workspace, endpoint):
    es = endpoint()
    config = cli_config(workspace, [es.url])
    result = run_cli(fimbeat_bin, "test", "output", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "TLS... WARN secure connection disabled (http)" in result.stdout
    assert f"write permission on {DATA_STREAM}... UNKNOWN cannot check privileges (HTTP 500" in result.stdout


def test_test_output_fails_on_wrong_password(fimbeat_bin, workspace, endpoint):
    es = endpoint(users={"fim": "pw"})
    config = cli_config(workspace, [es.url], extra="username: fim\npassword: nope")
    result = run_cli(fimbeat_bin, "test", "output", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 1
    assert "talk to server... ERROR authentication failed" in result.stdout, result.stdout


def test_test_output_fails_when_nothing_listens(fimbeat_bin, workspace, endpoint):
    es = endpoint(start=False)
    config = cli_config(workspace, [es.url])
    result = run_cli(fimbeat_bin, "test", "output", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 1
    assert "connection... ERROR" in result.stdout, result.stdout


def test_test_output_reports_missing_privileges(fimbeat_bin, workspace, endpoint):
    es = endpoint(api_keys={"id": "key"})
    es.deny_privileges = True
    config = cli_config(workspace, [es.url], extra='api_key: "id:key"')
    result = run_cli(fimbeat_bin, "test", "output", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 1
    assert "write permission on logs-fim.event-default... ERROR" in result.stdout, result.stdout


def test_setup_index_management_and_exports(fimbeat_bin, workspace, endpoint):
    es = endpoint()
    config = cli_config(workspace, [es.url])
    args = ["-c", config, "--path.home", workspace / "home"]
    result = run_cli(fimbeat_bin, "setup", "--index-management", *args)
    assert result.returncode == 0, result.stderr
    assert "index template logs-fim.event: installed" in result.stdout
    exported = run_cli(fimbeat_bin, "export", "template", *args)
    assert json.loads(exported.stdout) == es.templates["logs-fim.event"]
    policy = run_cli(fimbeat_bin, "export", "ilm-policy", *args)
    assert json.loads(policy.stdout)["policy"] == es.policies["fimbeat"]["policy"]
    # A second run keeps the existing template (overwrite is false) ...
    again = run_cli(fimbeat_bin, "setup", "--index-management", *args)
    assert "exists, kept" in again.stdout
    # ... and replaces it with setup.template.overwrite.
    es.templates["logs-fim.event"]["priority"] = 1
    forced = run_cli(fimbeat_bin, "setup", "--index-management", *args, "-E", "setup.template.overwrite=true")
    assert forced.returncode == 0 and es.templates["logs-fim.event"]["priority"] == 150


@pytest.mark.parametrize("credentials", ['username: fim\npassword: hunter2', 'api_key: "key-id:hunter2"'])
def test_export_config_redacts_secrets(fimbeat_bin, workspace, credentials):
    config = cli_config(workspace, ["http://127.0.0.1:1"],
                        extra=f'{credentials}\nssl.key_passphrase: pass-phrase\n'
                              'headers: {Authorization: "Bearer tok3n"}')
    result = run_cli(fimbeat_bin, "export", "config", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 0, result.stderr
    for secret in ("hunter2", "pass-phrase", "tok3n"):
        assert secret not in result.stdout
    assert result.stdout.count("[REDACTED]") == 3, result.stdout



# ------------------------------------------------- the test endpoint follows Elasticsearch's rules


def call(es: EsEndpoint, method: str, path: str, body: bytes | None = None,
         headers: Optional[dict] = None) -> tuple[int, dict]:
    import urllib.error
    import urllib.request
    request = urllib.request.Request(es.url + path, data=body, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"{}")


def ndjson(*lines: dict) -> bytes:
    return b"".join(json.dumps(line).encode() + b"\n" for line in lines)


def test_endpoint_data_stream_rules(endpoint):
    es = endpoint()
    ts = {"@timestamp": "2026-11-21T07:00:00.000Z"}
    body = ndjson({"create": {"_index": DATA_STREAM, "_id": "a"}}, {**ts, "file": {"size": 3}},
                  {"create": {"_index": DATA_STREAM, "_id": "a"}}, ts,
                  {"index": {"_index": DATA_STREAM, "_id": "b"}}, ts,
                  {"create": {"_index": DATA_STREAM, "_id": "c"}}, {"no": "timestamp"},
                  {"create": {"_index": DATA_STREAM, "_id": "d"}}, {**ts, "file": {"size": "big"}},
                  {"create": {"_index": DATA_STREAM, "_id": "e"}}, {**ts, "file": "flat"},
                  {"create": {"_index": DATA_STREAM}}, ts)
    import gzip
    status, answer = call(es, "POST", "/_bulk?filter_path=errors,items.*.error,items.*.status", gzip.compress(body),
                          {"Content-Encoding": "gzip", "Content-Type": "application/x-ndjson"})
    assert status == 200 and answer["errors"] is True
    statuses = [next(iter(item.values()))["status"] for item in answer["items"]]
    assert statuses == [201, 409, 400, 400, 400, 400, 201]
    errors = [next(iter(item.values())).get("error", {}) for item in answer["items"]]
    assert errors[1]["type"] == "version_conflict_engine_exception"
    assert "op_type of create" in errors[2]["reason"]
    assert "[@timestamp] is missing" in errors[3]["reason"]
    assert errors[4]["type"] == "document_parsing_exception" and "[file.size] of type [long]" in errors[4]["reason"]
    assert "found a concrete value" in errors[5]["reason"]
    assert set(answer) == {"errors", "items"} and set(answer["items"][0]["create"]) == {"status"}  # filter_path
    assert es.is_data_stream(DATA_STREAM) and es.count(DATA_STREAM) == 2


def test_endpoint_template_mappings_and_kinds(endpoint):
    es = endpoint(version="8.5.0")
    status, _ = call(es, "PUT", "/_index_template/t", json.dumps({
        "index_patterns": ["fim-*"], "data_stream": {}, "priority": 200,
        "template": {"mappings": {"properties": {
            "n": {"type": "long"}, "when": {"type": "date"}, "addr": {"type": "ip"}, "flag": {"type": "boolean"},
            "name": {"type": "keyword"}, "obj": {"properties": {"x": {"type": "keyword"}}}}}}}).encode())
    assert status == 200
    assert call(es, "HEAD", "/_index_template/t")[0] == 200 and call(es, "HEAD", "/_index_template/u")[0] == 404
    ts = "2026-11-21T07:00:00.000Z"
    docs = [{"n": "12"}, {"n": "twelve"}, {"when": "yesterday"}, {"addr": "10.0.0.1"}, {"addr": "not-an-ip"},
            {"flag": "yes"}, {"flag": True}, {"name": {"a": 1}}, {"obj": "flat"}, {"obj": {"x": "ok"}}]
    body = b"".join(ndjson({"create": {"_index": "fim-x-y"}}, {"@timestamp": ts, **d}) for d in docs)
    _, answer = call(es, "POST", "/_bulk", body)
    statuses = [item["create"]["status"] for item in answer["items"]]
    assert statuses == [201, 400, 400, 201, 400, 400, 201, 400, 400, 201]
    assert answer["items"][1]["create"]["error"]["type"] == "mapper_parsing_exception"  # before 8.8


def test_endpoint_auth_and_faults(endpoint):
    es = endpoint(users={"u": "p"}, api_keys={"id": "k"}, max_body_bytes=100)
    assert call(es, "GET", "/")[0] == 401
    basic = {"Authorization": "Basic " + base64.b64encode(b"u:p").decode()}
    api = {"Authorization": "ApiKey " + base64.b64encode(b"id:k").decode()}
    assert call(es, "GET", "/", headers=basic)[0] == 200 and call(es, "GET", "/", headers=api)[0] == 200
    es.fail_requests(429, count=1)
    small = ndjson({"create": {"_index": "plain"}}, {"a": 1})
    assert call(es, "POST", "/_bulk", small, api)[0] == 429
    assert call(es, "POST", "/_bulk", small, api)[0] == 200
    assert call(es, "POST", "/_bulk", small * 10, api)[0] == 413
    assert es.count("plain") == 1 and not es.is_data_stream("plain")
