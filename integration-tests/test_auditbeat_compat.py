"""Auditbeat users' files and habits with the real binary: its stock configs, its command line and
systemd unit line, format-string indices, ingest pipelines, custom fields and Elastic Cloud ids.

The configs here are written for these tests with the options and values of Auditbeat 8.x's
shipped files (x-pack/auditbeat/auditbeat.yml and the file_integrity part of
auditbeat.reference.yml in elastic/beats).
"""

from __future__ import annotations

import base64
import datetime
import os
import shlex
import signal
import subprocess
from pathlib import Path

import pytest

from conftest import run_cli, wait_for, write_config, yaml_str
from es_endpoint import EsEndpoint

STOCK_AUDITBEAT_YML = """\
auditbeat.modules:

- module: auditd
  audit_rule_files: [ '${path.config}/audit.rules.d/*.conf' ]
  audit_rules: |
    ## Define audit rules here.
    #-a always,exit -F arch=b64 -S execve,execveat -k exec
    #-w /etc/passwd -p wa -k identity

- module: file_integrity
  paths:
  - /bin
  - /usr/bin
  - /sbin
  - /usr/sbin
  - /etc

- module: system
  datasets:
    - package # Installed, updated, and removed packages

  period: 2m # The frequency at which the datasets check for changes

- module: system
  datasets:
    - host    # General host information, e.g. uptime, IPs
    - login   # User logins, logouts, and system boots.
    - process # Started and stopped processes
    - socket  # Opened and closed sockets
    - user    # User information

  state.period: 12h
  user.detect_password_changes: true
  login.wtmp_file_pattern: /var/log/wtmp*
  login.btmp_file_pattern: /var/log/btmp*

setup.template.settings:
  index.number_of_shards: 1

setup.kibana:

output.elasticsearch:
  hosts: ["localhost:9200"]
  preset: balanced

processors:
  - add_host_metadata: ~
  - add_cloud_metadata: ~
  - add_docker_metadata: ~
"""

REFERENCE_FIM_PART = """\
auditbeat.config.modules:
  path: ${path.config}/modules.d/*.yml
  reload.period: 10s
  reload.enabled: false
auditbeat.max_start_delay: 10s
auditbeat.modules:
- module: file_integrity
  paths:
  - /bin
  - /usr/bin
  - /sbin
  - /usr/sbin
  - /etc
  exclude_files:
  - '(?i)\\.sw[nop]$'
  - '~$'
  - '/\\.git($|/)'
  scan_at_start: true
  scan_rate_per_sec: 50 MiB
  max_file_size: 100 MiB
  hash_types: [sha1]
  recursive: false
  backend: fsnotify
output.elasticsearch:
  hosts: ["localhost:9200"]
"""


def warnings(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if line.startswith("WARNING ")]


def test_stock_auditbeat_yml_passes_with_one_warning_per_other_module(fimbeat_bin, workspace):
    config = write_config(workspace / "auditbeat.yml", STOCK_AUDITBEAT_YML)
    result = run_cli(fimbeat_bin, "test", "config", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Config OK\n"
    skipped = [w for w in warnings(result.stderr) if "skipped: fimbeat runs only file_integrity" in w]
    assert len(skipped) == 3, result.stderr  # auditd, system, system: one warning each
    assert sum('"auditd"' in w for w in skipped) == 1 and sum('"system"' in w for w in skipped) == 2
    assert not [w for w in warnings(result.stderr) if "audit_rule" in w or "datasets" in w or "state.period" in w]


def test_reference_file_integrity_part_passes(fimbeat_bin, workspace):
    config = write_config(workspace / "auditbeat.yml", REFERENCE_FIM_PART)
    result = run_cli(fimbeat_bin, "test", "config", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 0, result.stderr
    keys = " ".join(warnings(result.stderr))
    for implemented in ("paths", "exclude_files", "scan_rate_per_sec", "max_file_size", "hash_types", "backend"):
        assert f"auditbeat.modules.0.{implemented}:" not in keys, result.stderr


def test_stock_auditbeat_yml_runs_under_the_systemd_unit_line(fimbeat_bin, workspace):
    """Auditbeat's ExecStart with the environment systemd gives it, `auditbeat` → `fimbeat`."""
    es = EsEndpoint().start()
    try:
        tree = workspace / "watched"
        tree.mkdir()
        (tree / "passwd").write_text("root:x:0:0\n")
        home, etc, data, logs = (workspace / d for d in ("usr-share", "etc-fimbeat", "var-lib", "var-log"))
        for d in (home, etc):
            d.mkdir()
        text = STOCK_AUDITBEAT_YML.replace(
            "  paths:\n  - /bin\n  - /usr/bin\n  - /sbin\n  - /usr/sbin\n  - /etc\n", f"  paths:\n  - {yaml_str(tree)}\n"
        ).replace('hosts: ["localhost:9200"]', f"hosts: [{yaml_str(es.url)}]")
        write_config(etc / "fimbeat.yml", text)
        env = {
            "BEAT_LOG_OPTS": "",
            "BEAT_CONFIG_OPTS": f"-c {etc}/fimbeat.yml",
            "BEAT_PATH_OPTS": f"--path.home {home} --path.config {etc} --path.data {data} --path.logs {logs}",
        }
        line = f"{fimbeat_bin} --environment systemd $BEAT_LOG_OPTS $BEAT_CONFIG_OPTS $BEAT_PATH_OPTS"
        # systemd replaces a bare $VAR by the variable's value split at whitespace
        argv = [word for part in shlex.split(line) for word in (env[part[1:]].split() if part.startswith("$") else [part])]
        proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            wait_for(lambda: any(d["file"]["path"] == str(tree / "passwd") for d in es.documents("logs-fim.event-default")),
                     message="the scan's documents delivered")
            assert any(data.iterdir()), "state goes to --path.data"
            # As Beats under systemd: the log goes to stderr (the journal) since the file does not
            # set logging.to_files; nothing is written under --path.logs.
            assert not any(logs.glob("fimbeat*.ndjson")), list(logs.glob("*"))
        finally:
            proc.send_signal(signal.SIGTERM)
            out, err = proc.communicate(timeout=10)
        assert proc.returncode == 0, err.decode()
        assert b'"message":"scan done' in err or b"scan done" in err, err.decode()[-2000:]
    finally:
        es.stop()


def test_flag_names_match_exactly(fimbeat_bin, workspace):
    result = run_cli(fimbeat_bin, "setup", "--index")
    assert result.returncode == 1
    assert result.stderr.startswith("fimbeat: unknown flag: --index\n"), result.stderr
    single = run_cli(fimbeat_bin, "version", "-strict.perms=false", "-path.home", workspace / "home")
    assert single.returncode == 0 and single.stdout.startswith("fimbeat version"), single.stderr


def start_es_agent(start_agent, workspace: Path, es: EsEndpoint, module_extra: str = "", top_extra: str = ""):
    tree = workspace / "tree"
    tree.mkdir(exist_ok=True)
    (tree / "a.conf").write_text("a\n")
    config = write_config(workspace / "fimbeat.yml", (
        "auditbeat.modules:\n- module: file_integrity\n"
        f"  paths: [{yaml_str(tree)}]\n" + module_extra +
        f"output.elasticsearch:\n  hosts: [{yaml_str(es.url)}]\n  backoff.init: 50ms\n  backoff.max: 200ms\n" + top_extra))
    return start_agent(config), tree


def test_index_format_strings_and_the_ingest_pipeline_are_honoured(start_agent, workspace, fimbeat_bin):
    es = EsEndpoint().start()
    try:
        es.ingest_pipelines["fim-enrich"] = {"labels": {"enriched_by": "fim-enrich"}}
        agent, tree = start_es_agent(start_agent, workspace, es, top_extra=(
            '  index: "Auditbeat-%{[agent.version]}-%{+yyyy.MM.dd}"\n  pipeline: fim-enrich\n'
            "setup.template.enabled: false\nsetup.ilm.enabled: false\n"))
        version = run_cli(fimbeat_bin, "version").stdout.split()[2]
        today = datetime.datetime.now(datetime.timezone.utc).strftime("%Y.%m.%d")
        index = f"auditbeat-{version}-{today}"  # lower-cased, as Beats do
        docs = wait_for(lambda: es.documents(index), message=f"documents in {index}", agent=agent)
        assert all(d["labels"]["enriched_by"] == "fim-enrich" for d in docs), docs
        assert es.count("logs-fim.event-default") == 0
        assert agent.stop() == 0
    finally:
        es.stop()


def test_a_modules_index_wins_over_the_outputs(start_agent, workspace):
    es = EsEndpoint().start()
    try:
        agent, _ = start_es_agent(start_agent, workspace, es, module_extra='  index: "fim-%{[agent.type]}"\n',
                                  top_extra="setup.template.enabled: false\nsetup.ilm.enabled: false\n")
        wait_for(lambda: es.documents("fim-fimbeat"), message="documents in the module's index", agent=agent)
        assert agent.stop() == 0
    finally:
        es.stop()


def test_an_unknown_ingest_pipeline_is_refused_per_item_and_not_lost_silently(start_agent, workspace):
    es = EsEndpoint().start()
    try:
        agent, _ = start_es_agent(start_agent, workspace, es, top_extra="  pipeline: missing\n")
        wait_for(lambda: any("pipeline with id [missing] does not exist" in m for m in agent.log_messages()),
                 message="the refusal logged with Elasticsearch's reason", agent=agent)
        assert es.count("logs-fim.event-default") == 0
        assert agent.stop() == 0
    finally:
        es.stop()


def test_fields_top_level_and_per_module_reach_the_document(start_agent, workspace):
    es = EsEndpoint().start()
    try:
        agent, tree = start_es_agent(start_agent, workspace, es,
                                     module_extra="  fields: {team: payroll}\n  service.name: hr-files\n",
                                     top_extra="fields: {env: staging}\n")
        docs = wait_for(lambda: es.documents("logs-fim.event-default"), message="documents", agent=agent)
        doc = next(d for d in docs if d["file"]["path"] == str(tree / "a.conf"))
        assert doc["fields"] == {"team": "payroll", "env": "staging"}, doc
        assert doc["service"] == {"name": "hr-files", "type": "file_integrity"}, doc
        assert agent.stop() == 0
    finally:
        es.stop()


def test_cloud_id_and_auth_replace_the_hosts_and_credentials(fimbeat_bin, workspace):
    cloud_id = "prod:" + base64.b64encode(b"eu-west-1.aws.found.io:9243$abc123$def456").decode()
    config = write_config(workspace / "auditbeat.yml", REFERENCE_FIM_PART + f"cloud.id: {yaml_str(cloud_id)}\n"
                                                                            "cloud.auth: elastic:changeme\n")
    result = run_cli(fimbeat_bin, "export", "config", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 0, result.stderr
    assert "https://abc123.eu-west-1.aws.found.io:9243" in result.stdout
    assert "https://def456.eu-west-1.aws.found.io:9243" in result.stdout
    assert "localhost:9200" not in result.stdout
    assert "changeme" not in result.stdout
    bad = write_config(workspace / "bad.yml", REFERENCE_FIM_PART + "cloud.id: not-a-cloud-id!\n")
    refused = run_cli(fimbeat_bin, "test", "config", "-c", bad)
    assert refused.returncode == 1 and "cloud.id: is not an Elastic Cloud id" in refused.stderr, refused.stderr
