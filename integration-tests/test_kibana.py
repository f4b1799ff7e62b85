"""`fimbeat setup --dashboards`, `fimbeat setup` and `fimbeat export dashboard` against the Kibana
stand-in (kibana_endpoint.py): every shipped object imports without an error, and each failure
(Kibana down, wrong credentials, an object refused, an old Kibana, an unknown space) is reported
with what to fix and a non-zero exit code."""

from __future__ import annotations

import json
import shutil
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from conftest import REPO, run_cli, wait_for, write_config, yaml_str
from es_endpoint import EsEndpoint
from kibana_endpoint import KibanaEndpoint

KIBANA_DIR = REPO / "kibana"
SHIPPED = sorted((p.parent.name, p.stem) for p in KIBANA_DIR.glob("*/*.json"))
DATA_VIEW = ("index-pattern", "fimbeat-logs-fim-event")


def config(workspace: Path, kibana: str, extra: str = "", output: str = "") -> Path:
    output = output or f"output.file:\n  path: {yaml_str(workspace / 'events')}\n"
    text = (f"fimbeat.modules:\n  - module: file_integrity\n    paths: [{yaml_str(workspace)}]\n{output}"
            f"setup.kibana.host: {yaml_str(kibana)}\n"
            f"setup.dashboards.directory: {yaml_str(KIBANA_DIR)}\n{extra}")
    return write_config(workspace / "fimbeat.yml", text)


def run_setup(fimbeat_bin: Path, cfg: Path, *flags: str, timeout: float = 30) -> subprocess.CompletedProcess:
    return run_cli(fimbeat_bin, "setup", *flags, "-c", cfg, "--path.home", cfg.parent / "home", timeout=timeout)


@pytest.fixture
def kibana():
    with KibanaEndpoint() as kb:
        yield kb


def test_shipped_objects_are_fimbeats_own():
    assert len(SHIPPED) >= 19
    assert ("dashboard", "fimbeat-file-integrity-overview") in SHIPPED and ("dashboard", "fimbeat-host-timeline") in SHIPPED
    assert ("search", "fimbeat-latest-changes") in SHIPPED and DATA_VIEW in SHIPPED
    for kind, ident in SHIPPED:
        obj = json.loads((KIBANA_DIR / kind / f"{ident}.json").read_text())
        assert obj["id"] == ident and obj["type"] == kind
        title = obj["attributes"]["name" if kind == "index-pattern" else "title"]  # a data view's title is its pattern
        assert ident.startswith("fimbeat-") and title.startswith("[fimbeat] ")
        assert obj["coreMigrationVersion"] == "8.8.0", "objects are in the format of Kibana 8.11, the oldest supported"
    view = json.loads((KIBANA_DIR / "index-pattern" / "fimbeat-logs-fim-event.json").read_text())["attributes"]
    assert view["title"] == "logs-fim.event-*" and view["timeFieldName"] == "@timestamp"


def test_setup_dashboards_imports_every_object_without_an_error(fimbeat_bin, workspace, kibana):
    result = run_setup(fimbeat_bin, config(workspace, kibana.url), "--dashboards")
    assert result.returncode == 0, result.stderr
    assert "Loaded dashboards (19 saved objects)" in result.stdout, result.stdout
    assert sorted(kibana.stored()) == SHIPPED
    [request] = kibana.imports
    assert request["answer"]["success"] and request["answer"]["errors"] == [], request["answer"]
    assert request["query"] == {"overwrite": "true"}
    order = [(o["type"], o["id"]) for o in request["objects"]]
    assert order[0] == DATA_VIEW and order[-1] == ("dashboard", "fimbeat-file-integrity-overview"), order
    assert [r[:2] for r in kibana.request_log()] == [("GET", "/api/status"), ("POST", "/api/saved_objects/_import")]
    dashboard = kibana.stored()[("dashboard", "fimbeat-file-integrity-overview")]["attributes"]
    assert isinstance(dashboard["panelsJSON"], str) and isinstance(dashboard["controlGroupInput"]["panelsJSON"], str)

    again = run_setup(fimbeat_bin, config(workspace, kibana.url), "--dashboards")
    assert again.returncode == 0, again.stderr
    assert all(r.get("overwrite") for r in kibana.imports[1]["answer"]["successResults"]), "setup replaces its objects"


def test_setup_without_flags_installs_index_management_and_dashboards(fimbeat_bin, workspace, kibana):
    with EsEndpoint() as es:
        output = f"output.elasticsearch:\n  hosts: [{yaml_str(es.url)}]\n"
        result = run_setup(fimbeat_bin, config(workspace, kibana.url, output=output))
        assert result.returncode == 0, result.stderr
        assert "index template logs-fim.event: installed" in result.stdout, result.stdout
        assert "logs-fim.event" in es.templates
    assert sorted(kibana.stored()) == SHIPPED


def test_wrong_credentials_fail_with_what_to_fix(fimbeat_bin, workspace):
    with KibanaEndpoint(users={"elastic": "right"}) as kb:
        result = run_setup(fimbeat_bin, config(workspace, kb.url, "setup.kibana.username: elastic\nsetup.kibana.password: wrong\n"),
                       "--dashboards")
        assert result.returncode != 0
        assert "HTTP 401" in result.stderr and "setup.kibana.username" in result.stderr, result.stderr
        assert "wrong" not in result.stderr, "the password is never printed"
        assert kb.imports == []


def test_credentials_come_from_output_elasticsearch_when_kibana_has_none(fimbeat_bin, workspace):
    with KibanaEndpoint(users={"elastic": "s3cret"}) as kb, EsEndpoint(users={"elastic": "s3cret"}) as es:
        output = f"output.elasticsearch:\n  hosts: [{yaml_str(es.url)}]\n  username: elastic\n  password: s3cret\n"
        result = run_setup(fimbeat_bin, config(workspace, kb.url, output=output), "--dashboards")
        assert result.returncode == 0, result.stderr
        assert "with output.elasticsearch's credentials" in result.stdout, result.stdout
        assert sorted(kb.stored()) == SHIPPED


def test_api_key_authenticates_to_kibana(fimbeat_bin, workspace):
    with KibanaEndpoint(api_keys={"key-id": "key-secret"}) as kb:
        result = run_setup(fimbeat_bin, config(workspace, kb.url, "setup.kibana.api_key: 'key-id:key-secret'\n"), "--dashboards")
        assert result.returncode == 0, result.stderr
        assert sorted(kb.stored()) == SHIPPED


def test_kibana_down_fails_at_once_without_retry(fimbeat_bin, workspace):
    down = KibanaEndpoint()  # bound, never started: connections are refused
    try:
        result = run_setup(fimbeat_bin, config(workspace, down.url), "--dashboards")
    finally:
        down.stop()
    assert result.returncode != 0
    assert f"Kibana at {down.url}" in result.stderr and "trying again" not in result.stdout, result.stderr


def test_kibana_down_with_retry_tries_maximum_times_then_fails(fimbeat_bin, workspace):
    down = KibanaEndpoint()
    try:
        extra = "setup.dashboards.retry:\n  enabled: true\n  interval: 50ms\n  maximum: 3\n"
        result = run_setup(fimbeat_bin, config(workspace, down.url, extra), "--dashboards")
    finally:
        down.stop()
    assert result.returncode != 0
    assert result.stdout.count("trying again in 50 ms") == 3, result.stdout
    assert "did not answer in 4 attempts" in result.stderr, result.stderr


def test_retry_waits_for_kibana_to_come_up(fimbeat_bin, workspace):
    kb = KibanaEndpoint()
    extra = "setup.dashboards.retry:\n  enabled: true\n  interval: 100ms\n"
    cfg = config(workspace, kb.url, extra)
    out = open(workspace / "setup.stdout", "wb")
    proc = subprocess.Popen([str(fimbeat_bin), "setup", "--dashboards", "-c", str(cfg), "--path.home", str(workspace / "home")],
                            stdout=out, stderr=subprocess.PIPE)
    try:
        wait_for(lambda: b"trying again" in (workspace / "setup.stdout").read_bytes(), message="a retry line")
        kb.start()
        assert proc.wait(timeout=30) == 0, proc.stderr.read()
        assert sorted(kb.stored()) == SHIPPED
    finally:
        proc.kill()
        proc.wait()
        out.close()
        kb.stop()


def test_an_object_from_a_newer_kibana_is_refused_by_name(fimbeat_bin, workspace, kibana):
    objects = workspace / "kibana"
    shutil.copytree(KIBANA_DIR, objects)
    lens = objects / "lens" / "fimbeat-lens-top-files.json"
    obj = json.loads(lens.read_text())
    obj["typeMigrationVersion"] = "10.9.0"
    lens.write_text(json.dumps(obj))
    result = run_setup(fimbeat_bin, config(workspace, kibana.url, f"setup.dashboards.directory: {yaml_str(objects)}\n"),
                   "--dashboards")
    assert result.returncode != 0
    assert 'lens fimbeat-lens-top-files "[fimbeat] Top files": unknown' in result.stderr, result.stderr
    assert "more recent version of Kibana [10.9.0]" in result.stderr, result.stderr
    assert "refused 1 of the saved objects" in result.stderr, result.stderr


def test_missing_data_view_is_reported_for_each_object_that_needs_it(fimbeat_bin, workspace, kibana):
    result = run_setup(fimbeat_bin, config(workspace, kibana.url, "setup.dashboards.only_dashboards: true\n"), "--dashboards")
    assert result.returncode != 0
    assert "missing_references: index-pattern/fimbeat-logs-fim-event" in result.stderr, result.stderr
    assert 'search fimbeat-latest-changes "[fimbeat] Latest changes": missing_references' in result.stderr
    assert DATA_VIEW not in kibana.imports[0]["objects"]

    kibana.put({"type": "index-pattern", "id": DATA_VIEW[1], "attributes": {"title": "logs-fim.event-*", "name": "x"}})
    result = run_setup(fimbeat_bin, config(workspace, kibana.url, "setup.dashboards.only_dashboards: true\n"), "--dashboards")
    assert result.returncode == 0, result.stderr


def test_only_index_imports_the_data_view_alone_with_the_configured_pattern(fimbeat_bin, workspace, kibana):
    extra = "setup.dashboards:\n  only_index: true\n  index: 'logs-fim.event-prod*'\n"
    result = run_setup(fimbeat_bin, config(workspace, kibana.url, extra), "--dashboards")
    assert result.returncode == 0, result.stderr
    assert list(kibana.stored()) == [DATA_VIEW]
    assert kibana.stored()[DATA_VIEW]["attributes"]["title"] == "logs-fim.event-prod*"


def test_unsupported_type_is_named(fimbeat_bin, workspace, kibana):
    objects = workspace / "objects"
    (objects / "dashboard").mkdir(parents=True)
    (objects / "canvas-workpad").mkdir()
    (objects / "canvas-workpad" / "fimbeat-pad.json").write_text(json.dumps(
        {"type": "canvas-workpad", "id": "fimbeat-pad", "attributes": {"title": "[fimbeat] pad"}, "references": []}))
    board = json.loads((KIBANA_DIR / "dashboard" / "fimbeat-host-timeline.json").read_text())
    board["references"].append({"name": "pad", "type": "canvas-workpad", "id": "fimbeat-pad"})
    (objects / "dashboard" / "d.json").write_text(json.dumps(board))
    for kind in ("lens", "search", "index-pattern"):
        shutil.copytree(KIBANA_DIR / kind, objects / kind)
    result = run_setup(fimbeat_bin, config(workspace, kibana.url, f"setup.dashboards.directory: {yaml_str(objects)}\n"),
                   "--dashboards")
    assert result.returncode != 0
    assert 'canvas-workpad fimbeat-pad "[fimbeat] pad": unsupported_type' in result.stderr, result.stderr


def test_kibana_older_than_the_oldest_supported_is_refused(fimbeat_bin, workspace):
    with KibanaEndpoint(version="8.10.4") as kb:
        result = run_setup(fimbeat_bin, config(workspace, kb.url), "--dashboards")
    assert result.returncode != 0
    assert "Kibana 8.10.4 is older than 8.11.0" in result.stderr, result.stderr
    assert kb.imports == []


def test_newest_kibana_line_takes_the_objects_too(fimbeat_bin, workspace):
    with KibanaEndpoint(version="9.2.1") as kb:
        result = run_setup(fimbeat_bin, config(workspace, kb.url), "--dashboards")
        assert result.returncode == 0, result.stderr
        assert sorted(kb.stored()) == SHIPPED


def test_objects_go_to_the_configured_space(fimbeat_bin, workspace):
    with KibanaEndpoint(spaces=("default", "secops")) as kb:
        result = run_setup(fimbeat_bin, config(workspace, kb.url, "setup.kibana.space.id: secops\n"), "--dashboards")
        assert result.returncode == 0, result.stderr
        assert sorted(kb.stored("secops")) == SHIPPED and kb.stored("default") == {}
        assert ("POST", "/s/secops/api/saved_objects/_import") in [r[:2] for r in kb.request_log()]
        missing = run_setup(fimbeat_bin, config(workspace, kb.url, "setup.kibana.space.id: nowhere\n"), "--dashboards")
        assert missing.returncode != 0 and "HTTP 404" in missing.stderr, missing.stderr


def test_the_stand_in_is_strict_about_kbn_xsrf(kibana):
    request = urllib.request.Request(kibana.url + "/api/saved_objects/_import", data=b"x", method="POST",
                                     headers={"Content-Type": "multipart/form-data; boundary=b"})
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=10)
    assert refused.value.code == 400
    assert "kbn-xsrf" in json.loads(refused.value.read())["message"]


def test_export_dashboard_prints_what_setup_sends_and_writes_a_folder(fimbeat_bin, workspace, kibana):
    cfg = config(workspace, kibana.url)
    result = run_cli(fimbeat_bin, "export", "dashboard", "--id", "fimbeat-host-timeline", "-c", cfg)
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert (lines[-1]["type"], lines[-1]["id"]) == ("dashboard", "fimbeat-host-timeline")
    assert (lines[0]["type"], lines[0]["id"]) == DATA_VIEW
    assert isinstance(lines[-1]["attributes"]["panelsJSON"], str)
    status, answer = kibana.import_objects("default", {"overwrite": "true"}, lines)
    assert status == 200 and answer["success"], answer

    folder = workspace / "exported"
    written = run_cli(fimbeat_bin, "export", "dashboard", "--id", "fimbeat-host-timeline", "--folder", folder, "-c", cfg)
    assert written.returncode == 0, written.stderr
    assert sorted(p.relative_to(folder).as_posix() for p in folder.glob("*/*.json")) == sorted(
        f"{o['type']}/{o['id']}.json" for o in lines)
    again = run_setup(fimbeat_bin, config(workspace, kibana.url, f"setup.dashboards.directory: {yaml_str(folder)}\n"), "--dashboards")
    assert again.returncode == 0, again.stderr

    unknown = run_cli(fimbeat_bin, "export", "dashboard", "--id", "nope", "-c", cfg)
    assert unknown.returncode != 0 and 'no dashboard "nope"' in unknown.stderr
    assert run_cli(fimbeat_bin, "export", "dashboard", "-c", cfg).returncode != 0


def test_settings_are_validated_with_key_and_line(fimbeat_bin, workspace):
    extra = ("setup.kibana:\n  space.id: 'Sec Ops'\n  hots: x\n"
             "setup.dashboards:\n  retry.interval: -1s\n  only_index: true\n  only_dashboards: true\n")
    cfg = config(workspace, "localhost:5601", extra)
    result = run_cli(fimbeat_bin, "test", "config", "-c", cfg)
    assert result.returncode != 0
    text = cfg.read_text().split("\n")
    for key, needle in (("setup.kibana.space.id", "space.id"), ("setup.kibana.hots", "hots"),
                        ("setup.dashboards.retry.interval", "retry.interval"), ("setup.dashboards.only_index", "only_index")):
        line = next(i for i, t in enumerate(text, 1) if needle in t)
        assert f"{cfg}:{line}: {key}" in result.stderr, (key, result.stderr)
    assert 'did you mean "setup.kibana.host"' in result.stderr


def test_export_config_redacts_kibana_secrets(fimbeat_bin, workspace):
    cfg = config(workspace, "localhost:5601", "setup.kibana.password: kb-s3cret\nsetup.kibana.username: u\n"
                                              "setup.kibana.ssl.key_passphrase: kp-s3cret\n")
    result = run_cli(fimbeat_bin, "export", "config", "-c", cfg)
    assert result.returncode == 0, result.stderr
    assert "kb-s3cret" not in result.stdout and "kp-s3cret" not in result.stdout


def test_dashboards_enabled_imports_them_when_the_agent_starts(fimbeat_bin, workspace, kibana, start_agent):
    agent = start_agent(config(workspace, kibana.url, "setup.dashboards.enabled: true\n"))
    wait_for(lambda: sorted(kibana.stored()) == SHIPPED, message="the dashboards imported at start", agent=agent)
    wait_for(agent.scan_done, message="the agent running after the import", agent=agent)
    assert agent.stop() == 0, agent.describe()
