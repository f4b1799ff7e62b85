"""The command line and the configuration: `test config`, `export config`, validation messages."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import pytest

from conftest import FIXTURES, read_events, run_cli, summary, wait_for, write_config, yaml_str

# "file:LINE: key.path: message"
PROBLEM_RE = re.compile(r"^(?P<file>.+?):(?P<line>\d+): (?P<key>[\w.\-]+): (?P<message>.+)$")
WARNING_RE = re.compile(r"^WARNING (?P<file>.+?):(?P<line>\d+): (?P<key>[\w.\-]+): (?P<message>.+)$")

MODULE = """\
fimbeat.modules:
  - module: file_integrity
    paths: [/etc]
"""


def problems(stderr: str) -> list[re.Match]:
    """The problem lines of an invalid-config report; every line after the header must be one."""
    lines = stderr.rstrip("\n").split("\n")
    assert lines[0] == "Config is not valid:", stderr
    matches = [PROBLEM_RE.match(line) for line in lines[1:]]
    assert lines[1:] and all(matches), f"every problem is one `file:LINE: key: message` line:\n{stderr}"
    return matches


def warnings_of(stderr: str) -> list[re.Match]:
    lines = [line for line in stderr.split("\n") if line]
    matches = [WARNING_RE.match(line) for line in lines]
    assert all(matches), f"every stderr line of a valid config is a `WARNING file:line: key: ...` line:\n{stderr}"
    return matches


def line_of(text: str, needle: str) -> int:
    """1-based number of the first non-comment line holding needle."""
    for number, line in enumerate(text.split("\n"), start=1):
        if needle in line and not line.lstrip().startswith("#"):
            return number
    raise AssertionError(f"{needle!r} not in the config")


def invalid(fimbeat_bin: Path, config: Path, *args: str, env: dict | None = None) -> list[re.Match]:
    result = run_cli(fimbeat_bin, "test", "config", "-c", config, *args, env=env)
    assert result.returncode == 1, result
    assert result.stdout == "", "nothing on stdout for an invalid config"
    return problems(result.stderr)


# --- test config on a real-world auditbeat.yml ------------------------------------------------


@pytest.fixture
def auditbeat_yml(workspace: Path) -> Path:
    config = workspace / "auditbeat.yml"
    shutil.copyfile(FIXTURES / "auditbeat.yml", config)
    os.chmod(config, 0o644)  # a checkout may leave it group-writable
    return config


def test_shipped_auditbeat_yml_is_accepted_with_warnings(fimbeat_bin, auditbeat_yml):
    result = run_cli(fimbeat_bin, "test", "config", "-c", auditbeat_yml)
    assert result.returncode == 0, result.stderr
    assert result.stdout == "Config OK\n"

    text = auditbeat_yml.read_text()
    warned = {(m.group("key"), int(m.group("line"))) for m in warnings_of(result.stderr)}
    assert all(m.group("file") == str(auditbeat_yml) for m in warnings_of(result.stderr))
    unimplemented = {
        "setup.template.settings.index.number_of_shards": line_of(text, "index.number_of_shards:"),
        # host.* is on every event, so the stock `when.not.contains.tags: forwarded` cannot apply
        "processors.0.add_host_metadata.when": line_of(text, "when.not.contains.tags: forwarded"),
    }
    for key, line in unimplemented.items():
        assert (key, line) in warned, f"no warning names {key} at line {line}:\n{result.stderr}"
    assert not {key for key, _ in warned if key.startswith("setup.kibana")}, "setup.kibana is acted on: " + result.stderr
    keys = {key for key, _ in warned}
    assert "processors.0.add_host_metadata" not in keys and "processors.1.add_cloud_metadata" not in keys, result.stderr
    assert "processors.2.add_docker_metadata" not in keys, "add_docker_metadata runs: " + result.stderr
    implemented = ("paths", "exclude_files", "recursive", "scan_at_start", "scan_rate_per_sec", "max_file_size",
                   "hash_types", "logging.level", "logging.selectors", "http.enabled")
    noisy = [key for key, _ in warned if key.endswith(implemented) or key.startswith("logging")]
    assert not noisy, f"implemented options must not warn: {noisy}"


def test_warning_for_an_empty_section_names_its_own_line(fimbeat_bin, workspace):
    text = MODULE + "output.file: {}\nseccomp:\n\n  # a comment, as auditbeat.yml has under its sections\n\nname: x\n"
    config = write_config(workspace / "c.yml", text)
    result = run_cli(fimbeat_bin, "test", "config", "-c", config)
    assert result.returncode == 0, result.stderr
    lines = {m.group("key"): int(m.group("line")) for m in warnings_of(result.stderr)}
    assert lines["seccomp"] == line_of(text, "seccomp:")


# --- broken configs ----------------------------------------------------------------------------


def test_typo_key_names_path_line_and_suggestion(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE + "    recursve: true\noutput.file: {}\n")
    [p] = invalid(fimbeat_bin, config)
    assert (p.group("file"), p.group("line"), p.group("key")) == (str(config), "4", "fimbeat.modules.0.recursve")
    assert 'did you mean "fimbeat.modules.0.recursive"' in p.group("message")


def test_bad_regex_names_the_list_item(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE + """\
    exclude_files:
      - '(?i)\\.sw[nop]$'
      - '(unclosed'
output.file: {}
""")
    [p] = invalid(fimbeat_bin, config)
    assert (p.group("line"), p.group("key")) == ("6", "fimbeat.modules.0.exclude_files.1")
    assert "invalid regular expression" in p.group("message") and "(unclosed" in p.group("message")


def test_unknown_hash_type_lists_valid_ones(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE + "    hash_types: [sha256, sha3]\noutput.file: {}\n")
    [p] = invalid(fimbeat_bin, config)
    assert (p.group("line"), p.group("key")) == ("4", "fimbeat.modules.0.hash_types.1")
    assert '"sha3"' in p.group("message") and "sha3_256" in p.group("message")


def test_auditd_module_alone_leaves_nothing_to_run(fimbeat_bin, workspace):
    """auditd is skipped (one warning, see test_auditbeat_compat.py); with nothing else fimbeat cannot start."""
    config = write_config(workspace / "c.yml", """\
auditbeat.modules:

- module: auditd
  audit_rules: |
    -w /etc/passwd -p wa -k identity
output.file: {}
""")
    result = run_cli(fimbeat_bin, "test", "config", "-c", config)
    assert result.returncode == 1
    assert f"{config}: fimbeat.modules: no file_integrity module is configured" in result.stderr, result.stderr


def test_an_unknown_module_is_an_error(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", "auditbeat.modules:\n- module: file_integrty\n  paths: [/etc]\noutput.file: {}\n")
    [p] = invalid(fimbeat_bin, config)
    assert (p.group("line"), p.group("key")) == ("2", "auditbeat.modules.0.module")
    assert 'unknown module "file_integrty"' in p.group("message")


def test_two_enabled_outputs_are_refused(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE + """\
output.file:
  path: /tmp/events
output.console:
  pretty: true
""")
    [p] = invalid(fimbeat_bin, config)
    assert p.group("key") == "output"
    assert "more than one output is enabled" in p.group("message")
    assert f"output.file ({config}:5)" in p.group("message")
    assert f"output.console ({config}:7)" in p.group("message")


def test_two_outputs_with_empty_values_name_their_own_lines(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE + "output.file:\noutput.console:\n\nhttp.enabled: false\n")
    [p] = invalid(fimbeat_bin, config)
    assert f"output.file ({config}:4)" in p.group("message"), p.group("message")
    assert f"output.console ({config}:5)" in p.group("message"), p.group("message")


def test_all_outputs_disabled_is_refused(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE + "output.file:\n  enabled: false\n")
    [p] = invalid(fimbeat_bin, config)
    assert (p.group("file"), p.group("line"), p.group("key")) == (str(config), "4", "output")
    assert "no output is enabled" in p.group("message")


def test_missing_output_section_is_refused(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE)
    result = run_cli(fimbeat_bin, "test", "config", "-c", config)
    assert result.returncode == 1
    assert "output: no output is enabled" in result.stderr


def test_missing_output_section_names_the_config_file(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE)
    result = run_cli(fimbeat_bin, "test", "config", "-c", config)
    assert result.returncode == 1
    assert any(line.startswith(f"{config}: output: no output is enabled") for line in result.stderr.split("\n")), \
        result.stderr


def test_yaml_syntax_error_names_the_line(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE + "    recursive: true: false\noutput.file: {}\n")
    result = run_cli(fimbeat_bin, "test", "config", "-c", config)
    assert result.returncode == 1
    lines = result.stderr.rstrip("\n").split("\n")
    assert lines[0] == "Config is not valid:"
    assert re.match(rf"^{re.escape(str(config))}:4:\d+: invalid YAML", lines[1]), result.stderr


def test_unset_variable_names_the_variable(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", """\
fimbeat.modules:
  - module: file_integrity
    paths: ["${FIM_IT_UNSET_ROOT}/etc"]
output.file: {}
""")
    env = {k: v for k, v in os.environ.items() if k != "FIM_IT_UNSET_ROOT"}
    [p] = invalid(fimbeat_bin, config, env=env)
    assert (p.group("line"), p.group("key")) == ("3", "fimbeat.modules.0.paths.0")
    assert "FIM_IT_UNSET_ROOT" in p.group("message")


def test_several_problems_are_all_reported_one_per_line(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE + """\
    recursve: true
    hash_types: [md4]
    exclude_files: ['a(b']
logging.level: loud
output.file: {}
output.console: {}
""")
    found = {(m.group("key"), m.group("line")) for m in invalid(fimbeat_bin, config)}
    assert found == {
        ("fimbeat.modules.0.recursve", "4"),
        ("fimbeat.modules.0.hash_types.0", "5"),
        ("fimbeat.modules.0.exclude_files.0", "6"),
        ("logging.level", "7"),
        ("output", "9"),
    }


# --- export config ------------------------------------------------------------------------------


def test_export_config_shows_variables_defaults_and_overrides(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", """\
fimbeat.modules:
  - module: file_integrity
    paths: ["${FIM_IT_ROOT}/watched"]
    tags: ["${FIM_IT_TEAM:platform}", "${FIM_IT_SET:unused-default}"]
output.file:
  path: /var/lib/fimbeat/events
""")
    env = {k: v for k, v in os.environ.items() if k != "FIM_IT_TEAM"}
    env.update(FIM_IT_ROOT="/srv/app", FIM_IT_SET="from-env")
    result = run_cli(fimbeat_bin, "export", "config", "-c", config, "--path.home", workspace / "home",
                     "-E", "output.file.filename=custom-name", "-E", "output.file.path=${FIM_IT_ROOT}/events",
                     "-E", "tags=[ops, audit]", env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "- /srv/app/watched" in out
    assert "- platform" in out and "- from-env" in out and "unused-default" not in out
    assert "filename: custom-name" in out
    assert "path: /srv/app/events" in out and "/var/lib/fimbeat/events" not in out
    assert re.search(r"^tags:\n  - ops\n  - audit$", out, re.M), out
    assert f"home: {workspace / 'home'}" in out
    assert "${" not in out


def test_minus_E_can_override_an_option_of_a_listed_module(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE + "    recursive: false\noutput.file: {}\n")
    result = run_cli(fimbeat_bin, "export", "config", "-c", config, "-E", "fimbeat.modules.0.recursive=true")
    assert result.returncode == 0, result.stderr
    assert re.search(r"^      recursive: true$", result.stdout, re.M), result.stdout
    assert "- /etc" in result.stdout, "the rest of the module is kept"


def test_export_config_redacts_secrets(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE + """\
output.elasticsearch:
  hosts: ["https://es.example:9200"]
  username: fimbeat_writer
  password: "${FIM_IT_ES_PASSWORD}"
  proxy_url: "http://proxy-user:VuaCfGcBCdbkQm-ui2lp2axTNmsyakw9tvNnw@proxy.example:3128"
""")
    env = dict(os.environ, FIM_IT_ES_PASSWORD="hunter2-very-secret")
    result = run_cli(fimbeat_bin, "export", "config", "-c", config,
                     "-E", "output.elasticsearch.ssl.key_passphrase=cli-passphrase-secret", env=env)
    assert result.returncode == 0, result.stderr
    for secret in ("hunter2-very-secret", "ui2lp2axTNmsyakw9tvNnw", "VuaCfGcBCdbkQm", "cli-passphrase-secret"):
        assert secret not in result.stdout and secret not in result.stderr
    assert re.search(r"^    password: \W?\[REDACTED\]\W?$", result.stdout, re.M), result.stdout
    assert re.search(r"^    proxy_url: \W?http://proxy-user:\[REDACTED\]@proxy.example:3128\W?$", result.stdout, re.M), result.stdout
    assert result.stdout.count("[REDACTED]") == 3, result.stdout
    assert "username: fimbeat_writer" in result.stdout, "only secrets are redacted"
    assert "https://es.example:9200" in result.stdout


def test_export_config_redacts_credential_headers(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE + """\
output.elasticsearch:
  hosts: ["https://es.example:9200"]
  headers:
    Authorization: "Bearer eyJhbGciOiJIUzI1NiJ9.header-secret"
    X-Api-Key: "x-api-key-secret"
""")
    result = run_cli(fimbeat_bin, "export", "config", "-c", config)
    assert result.returncode == 0, result.stderr
    assert "header-secret" not in result.stdout, result.stdout
    assert "x-api-key-secret" not in result.stdout, result.stdout


# --- strict permissions --------------------------------------------------------------------------


def test_group_writable_config_is_refused_unless_strict_perms_is_off(fimbeat_bin, workspace):
    config = write_config(workspace / "c.yml", MODULE + "output.file: {}\n", mode=0o666)
    refused = run_cli(fimbeat_bin, "test", "config", "-c", config)
    assert refused.returncode == 1
    assert "chmod go-w" in refused.stderr and str(config) in refused.stderr
    assert "Config OK" not in refused.stdout

    started = time.monotonic()
    run = run_cli(fimbeat_bin, "run", "-e", "-c", config, "--path.home", workspace / "home", timeout=5)
    assert run.returncode == 1 and "chmod go-w" in run.stderr
    assert time.monotonic() - started < 5

    accepted = run_cli(fimbeat_bin, "test", "config", "-c", config, "--strict.perms=false")
    assert accepted.returncode == 0, accepted.stderr
    assert accepted.stdout == "Config OK\n"


# --- command line ----------------------------------------------------------------------------------


@pytest.mark.parametrize("args", [["frobnicate"], ["test", "everything"], ["--frobnicate"], ["run", "-Z"]],
                         ids=["unknown-command", "unknown-test-target", "unknown-long-flag", "unknown-short-flag"])
def test_bad_command_line_prints_usage_and_exits_1(fimbeat_bin, args):
    result = run_cli(fimbeat_bin, *args)
    assert result.returncode == 1
    assert "Usage:" in result.stderr
    assert result.stdout == ""


def test_version_exits_0(fimbeat_bin):
    result = run_cli(fimbeat_bin, "version")
    assert result.returncode == 0
    assert re.match(r"^fimbeat version \d+\.\d+\.\d+", result.stdout), result.stdout


@pytest.mark.parametrize("flag", ["--help", "-h", "help"])
def test_help_exits_0(fimbeat_bin, flag):
    result = run_cli(fimbeat_bin, flag)
    assert result.returncode == 0
    assert result.stdout.startswith("Usage:") and "test config" in result.stdout


def test_missing_config_file_is_a_clear_error(fimbeat_bin, workspace):
    result = run_cli(fimbeat_bin, "test", "config", "-c", workspace / "nope.yml")
    assert result.returncode == 1
    assert str(workspace / "nope.yml") in result.stderr


# --- run: refusals and partial failures ----------------------------------------------------------


def test_missing_path_is_logged_and_other_paths_still_scanned(workspace, start_agent):
    missing = workspace / "does-not-exist"
    present = workspace / "present"
    (present / "sub").mkdir(parents=True)
    (present / "f").write_bytes(b"abc")
    expected = {(str(present), "dir", None), (str(present / "sub"), "dir", None), (str(present / "f"), "file", 3)}
    out = workspace / "events"
    config = write_config(workspace / "c.yml", f"""\
fimbeat.modules:
  - module: file_integrity
    paths: [{yaml_str(missing)}, {yaml_str(present)}]
    recursive: true
output.file:
  path: {yaml_str(out)}
""")
    agent = start_agent(config)

    wait_for(lambda: len(read_events(out, complete_only=True)) >= len(expected),
             message="the present path's documents", agent=agent)
    assert agent.running(), "a missing path must not stop the agent"
    warnings = [r for r in agent.log_records() if r["log.level"] == "warn" and str(missing) in r["message"]]
    assert warnings, f"a warning names the missing path:\n{agent.stderr_text()}"
    assert agent.stop() == 0, agent.describe()
    assert summary(read_events(out)) == expected
