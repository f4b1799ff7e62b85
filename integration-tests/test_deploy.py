"""deploy/: the Kubernetes DaemonSet against the API schema of the fields it uses, the Containerfile
against the rules a linter would apply (hadolint is not in Debian), the systemd drop-in example.

The schema facts below are from the Kubernetes API reference for v1.29 (apps/v1 DaemonSet, core/v1
PodSpec, Container, SecurityContext, Volume, ConfigMap, Probe, ResourceRequirements): every key the
manifest uses must be one the API defines for that object, with the type it defines, and the
constraints the API server enforces on them (required fields, enums, name formats, references).
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import REPO, wait_for

yaml = pytest.importorskip("yaml", reason="python3-yaml is not installed (make test-deps installs it)")

MANIFEST = REPO / "deploy" / "kubernetes" / "fimbeat-daemonset.yaml"
CONTAINERFILE = REPO / "deploy" / "container" / "Containerfile"
DROP_IN = REPO / "deploy" / "systemd" / "fimbeat.service.d" / "override.conf"
UNIT = REPO / "deploy" / "systemd" / "fimbeat.service"

# Types: str, int, bool, a dict (an object: key -> type), a list [type], or a set (an enum of strings).
QUANTITY = re.compile(r"^[0-9]+(\.[0-9]+)?(m|k|Ki|Mi|Gi|Ti|M|G|T)?$")
DNS1123_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
CAPABILITIES = {"ALL", "AUDIT_CONTROL", "AUDIT_READ", "AUDIT_WRITE", "BPF", "CHOWN", "DAC_OVERRIDE",
                "DAC_READ_SEARCH", "FOWNER", "FSETID", "IPC_LOCK", "IPC_OWNER", "KILL", "LINUX_IMMUTABLE",
                "MKNOD", "NET_ADMIN", "NET_BIND_SERVICE", "NET_RAW", "PERFMON", "SETFCAP", "SETGID", "SETPCAP",
                "SETUID", "SYS_ADMIN", "SYS_BOOT", "SYS_CHROOT", "SYS_MODULE", "SYS_NICE", "SYS_PTRACE",
                "SYS_RESOURCE", "SYS_TIME", "SYS_TTY_CONFIG", "SYSLOG", "WAKE_ALARM"}

OBJECT_META = {"name": str, "namespace": str, "labels": {"*": str}, "annotations": {"*": str}}
LABEL_SELECTOR = {"matchLabels": {"*": str}}
KEY_SELECTORS = {
    "fieldRef": {"fieldPath": str, "apiVersion": str},
    "secretKeyRef": {"name": str, "key": str, "optional": bool},
    "configMapKeyRef": {"name": str, "key": str, "optional": bool},
}
ENV_VAR = {"name": str, "value": str, "valueFrom": KEY_SELECTORS}
ENV_FROM = {"secretRef": {"name": str, "optional": bool}, "configMapRef": {"name": str, "optional": bool},
            "prefix": str}
SECURITY_CONTEXT = {"runAsUser": int, "runAsGroup": int, "runAsNonRoot": bool, "allowPrivilegeEscalation": bool,
                    "readOnlyRootFilesystem": bool, "privileged": bool,
                    "capabilities": {"add": [CAPABILITIES], "drop": [CAPABILITIES]}}
PROBE = {"exec": {"command": [str]}, "httpGet": {"path": str, "port": int, "host": str},
         "initialDelaySeconds": int, "periodSeconds": int, "timeoutSeconds": int, "failureThreshold": int,
         "successThreshold": int}
CONTAINER = {"name": str, "image": str, "imagePullPolicy": {"Always", "IfNotPresent", "Never"},
             "command": [str], "args": [str], "env": [ENV_VAR], "envFrom": [ENV_FROM],
             "securityContext": SECURITY_CONTEXT, "resources": {"requests": {"*": "quantity"},
                                                                "limits": {"*": "quantity"}},
             "livenessProbe": PROBE, "readinessProbe": PROBE,
             "volumeMounts": [{"name": str, "mountPath": str, "readOnly": bool, "subPath": str,
                               "mountPropagation": {"None", "HostToContainer", "Bidirectional"}}]}
HOST_PATH_TYPES = {"", "DirectoryOrCreate", "Directory", "FileOrCreate", "File", "Socket", "CharDevice", "BlockDevice"}
VOLUME = {"name": str,
          "hostPath": {"path": str, "type": HOST_PATH_TYPES},
          "configMap": {"name": str, "defaultMode": int, "optional": bool, "items": [{"key": str, "path": str}]},
          "secret": {"secretName": str, "defaultMode": int, "optional": bool}}
TOLERATION = {"key": str, "operator": {"Exists", "Equal"}, "value": str,
              "effect": {"NoSchedule", "PreferNoSchedule", "NoExecute"}, "tolerationSeconds": int}
POD_SPEC = {"containers": [CONTAINER], "initContainers": [CONTAINER], "volumes": [VOLUME], "hostPID": bool,
            "hostNetwork": bool, "serviceAccountName": str, "terminationGracePeriodSeconds": int,
            "tolerations": [TOLERATION], "restartPolicy": {"Always"}, "nodeSelector": {"*": str},
            "dnsPolicy": {"ClusterFirst", "ClusterFirstWithHostNet", "Default", "None"}}
DAEMON_SET = {"apiVersion": {"apps/v1"}, "kind": {"DaemonSet"}, "metadata": OBJECT_META,
              "spec": {"selector": LABEL_SELECTOR,
                       "updateStrategy": {"type": {"RollingUpdate", "OnDelete"},
                                          "rollingUpdate": {"maxUnavailable": int, "maxSurge": int}},
                       "minReadySeconds": int, "revisionHistoryLimit": int,
                       "template": {"metadata": OBJECT_META, "spec": POD_SPEC}}}
CONFIG_MAP = {"apiVersion": {"v1"}, "kind": {"ConfigMap"}, "metadata": OBJECT_META, "data": {"*": str},
              "immutable": bool}


def check(value, schema, path: str, problems: list[str]) -> None:
    """Appends to problems every key the schema does not define and every value of the wrong type."""
    if schema == "quantity":
        if not (isinstance(value, str) and QUANTITY.match(value)):
            problems.append(f"{path}: {value!r} is not a Kubernetes quantity")
    elif isinstance(schema, set):
        if value not in schema:
            problems.append(f"{path}: {value!r} is not one of {sorted(schema)}")
    elif isinstance(schema, list):
        if not isinstance(value, list):
            problems.append(f"{path}: expected a list, got {type(value).__name__}")
            return
        for i, item in enumerate(value):
            check(item, schema[0], f"{path}[{i}]", problems)
    elif isinstance(schema, dict):
        if not isinstance(value, dict):
            problems.append(f"{path}: expected an object, got {type(value).__name__}")
            return
        for key, item in value.items():
            if key in schema:
                check(item, schema[key], f"{path}.{key}", problems)
            elif "*" in schema:
                check(item, schema["*"], f"{path}.{key}", problems)
            else:
                problems.append(f"{path}: unknown field {key!r}")
    elif schema is int:
        if not isinstance(value, int) or isinstance(value, bool):
            problems.append(f"{path}: expected an integer, got {value!r}")
    elif not isinstance(value, schema):
        problems.append(f"{path}: expected {schema.__name__}, got {value!r}")


def documents() -> dict[str, dict]:
    docs = [d for d in yaml.safe_load_all(MANIFEST.read_text()) if d is not None]
    return {d["kind"]: d for d in docs}


def test_manifest_uses_only_fields_the_api_defines_with_their_types():
    docs = documents()
    assert set(docs) == {"ConfigMap", "DaemonSet"}
    problems: list[str] = []
    check(docs["DaemonSet"], DAEMON_SET, "DaemonSet", problems)
    check(docs["ConfigMap"], CONFIG_MAP, "ConfigMap", problems)
    assert not problems, "\n".join(problems)


def test_schema_check_catches_what_the_api_server_would_reject():
    """The check itself: a typo, a wrong type and a bad enum value are each reported."""
    broken = documents()["DaemonSet"]
    container = broken["spec"]["template"]["spec"]["containers"][0]
    container["imagePullPolicy"] = "Sometimes"
    container["securityContext"]["readOnlyRootFileSystem"] = True  # the API's name has a lower-case s
    container["securityContext"]["capabilities"]["add"].append("CAP_SYS_ADMIN")  # no CAP_ prefix in Kubernetes
    broken["spec"]["template"]["spec"]["hostPID"] = "yes"
    problems: list[str] = []
    check(broken, DAEMON_SET, "DaemonSet", problems)
    assert len(problems) == 4, problems


def test_daemonset_constraints_the_api_server_enforces():
    ds = documents()["DaemonSet"]
    spec = ds["spec"]
    pod = spec["template"]["spec"]
    # selector and template are required, and the selector must match the template's labels.
    selector = spec["selector"]["matchLabels"]
    labels = spec["template"]["metadata"]["labels"]
    assert selector and all(labels.get(k) == v for k, v in selector.items())
    assert pod["containers"], "a pod needs at least one container"
    names = [v["name"] for v in pod["volumes"]]
    assert len(names) == len(set(names)), "volume names must be unique"
    for name in names + [c["name"] for c in pod["containers"]]:
        assert DNS1123_LABEL.match(name) and len(name) <= 63, f"{name} is not a DNS-1123 label"
    for volume in pod["volumes"]:
        assert sum(k in volume for k in ("hostPath", "configMap", "secret")) == 1, volume
        if "configMap" in volume:
            assert 0 <= volume["configMap"]["defaultMode"] <= 0o777
    for container in pod["containers"]:
        assert container["name"] and container["image"]
        mounts = [m["mountPath"] for m in container["volumeMounts"]]
        assert len(mounts) == len(set(mounts)), "mount paths must be unique"
        for mount in container["volumeMounts"]:
            assert mount["name"] in names, f"{mount['name']} is not a volume of the pod"
            assert mount["mountPath"].startswith("/")
        for env in container.get("env", []):
            assert ("value" in env) != ("valueFrom" in env), env


def test_daemonset_is_what_fimbeat_needs_and_no_more():
    docs = documents()
    pod = docs["DaemonSet"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    security = container["securityContext"]
    assert security["capabilities"]["drop"] == ["ALL"]
    assert set(security["capabilities"]["add"]) == {"DAC_READ_SEARCH", "SYS_ADMIN", "SYS_PTRACE"}
    assert security["allowPrivilegeEscalation"] is False and security["readOnlyRootFilesystem"] is True
    assert "privileged" not in security
    volumes = {v["name"]: v for v in pod["volumes"]}
    mounts = {m["mountPath"]: m for m in container["volumeMounts"]}
    host_mounts = {p: m for p, m in mounts.items() if p.startswith("/hostfs/")}
    assert set(host_mounts) == {"/hostfs/bin", "/hostfs/usr/bin", "/hostfs/sbin", "/hostfs/usr/sbin", "/hostfs/etc"}
    for path, mount in host_mounts.items():
        assert mount.get("readOnly") is True, f"{path} must be read-only"
        assert volumes[mount["name"]]["hostPath"]["path"] == path.removeprefix("/hostfs")
    data = mounts["/var/lib/fimbeat"]
    assert "hostPath" in volumes[data["name"]] and not data.get("readOnly")
    config = mounts["/etc/fimbeat"]
    assert volumes[config["name"]]["configMap"]["name"] == docs["ConfigMap"]["metadata"]["name"]
    assert volumes[config["name"]]["configMap"]["defaultMode"] == 0o600  # fimbeat's strict.perms check
    assert {"secretRef": {"name": "fimbeat-secrets"}} in container["envFrom"]
    config_text = docs["ConfigMap"]["data"]["fimbeat.yml"]
    watched = yaml.safe_load(config_text)["fimbeat.modules"][0]["paths"]
    assert set(watched) == set(host_mounts)
    assert "${ES_API_KEY}" in config_text and "api_key: 'id:" not in config_text  # secrets only from the Secret


def test_the_configmaps_configuration_is_valid_for_fimbeat(fimbeat_bin, tmp_path):
    config = tmp_path / "fimbeat.yml"
    config.write_text(documents()["ConfigMap"]["data"]["fimbeat.yml"])
    config.chmod(0o600)
    env = dict(os.environ, NODE_NAME="node-1", ES_HOSTS="https://es:9200", ES_API_KEY="id:key")
    result = subprocess.run([str(fimbeat_bin), "test", "config", "-c", str(config), "--path.home", str(tmp_path)],
                            capture_output=True, text=True, env=env, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "Config OK" in result.stdout


def containerfile_instructions() -> list[tuple[str, str]]:
    """(INSTRUCTION, arguments) with continuation lines joined and comments dropped."""
    text = re.sub(r"\\\n", " ", CONTAINERFILE.read_text())
    out = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            word, _, rest = line.partition(" ")
            out.append((word.upper(), rest.strip()))
    return out


def test_containerfile_follows_the_rules_hadolint_would_check():
    instructions = containerfile_instructions()
    known = {"FROM", "RUN", "COPY", "WORKDIR", "USER", "ENTRYPOINT", "CMD", "ENV", "ARG", "LABEL", "EXPOSE"}
    assert {word for word, _ in instructions} <= known
    froms = [args for word, args in instructions if word == "FROM"]
    assert froms[-1].startswith("debian:bookworm-slim"), "the image is Debian slim"
    for image in froms:  # DL3006/DL3007: a tag, and not latest
        name = image.split()[0]
        assert ":" in name and not name.endswith(":latest"), image
    for word, args in instructions:
        assert word != "ADD", "DL3020: COPY, not ADD"
        if word == "RUN" and "apt-get install" in args:
            assert "apt-get update" in args, "DL3009-style: update and install in one layer"
            assert "--no-install-recommends" in args, "DL3015"
            assert " -y " in args, "DL3014"
            assert "rm -rf /var/lib/apt/lists/*" in args, "DL3009: no apt lists in the image"
        if word == "RUN":
            assert "|" not in args.replace("||", ""), "DL4006: a pipe needs pipefail"
            assert not re.search(r"\bsudo\b", args), "DL3004"
    users = [args for word, args in instructions if word == "USER"]
    assert users and users[-1] not in ("root", "0"), "DL3002: the last USER is not root"
    entrypoint = [args for word, args in instructions if word == "ENTRYPOINT"][-1]
    assert entrypoint.startswith("["), "DL3025: JSON form"
    assert '"--environment", "container"' in entrypoint
    copied = [args for word, args in instructions if word == "COPY" and "--from=build" in args][0]
    deb = copied.split()[1].split("/")[-1]
    assert deb == f"fimbeat_{project_version()}_amd64.deb", "the package make package builds"


def project_version() -> str:
    m = re.search(r"project\(fimbeat VERSION ([0-9.]+)", (REPO / "CMakeLists.txt").read_text())
    assert m
    return m.group(1)


def verify_with_drop_in(tmp_path: Path, drop_in: str) -> subprocess.CompletedProcess:
    units = tmp_path / "units"
    (units / "fimbeat.service.d").mkdir(parents=True, exist_ok=True)
    # The unit's ExecStart and Documentation must resolve; point them at what exists here.
    (units / "fimbeat.service").write_text(UNIT.read_text().replace("ExecStart=/usr/bin/fimbeat", "ExecStart=/bin/true")
                                           .replace("Documentation=man:fimbeat(1) ", "Documentation="))
    (units / "fimbeat.service.d" / "override.conf").write_text(drop_in)
    return subprocess.run(["systemd-analyze", "verify", str(units / "fimbeat.service")], capture_output=True,
                          text=True, env=dict(os.environ, SYSTEMD_UNIT_PATH=f"{units}:"), timeout=60)


def test_systemd_drop_in_example_verifies_with_the_unit(tmp_path):
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed (package systemd)")
    result = verify_with_drop_in(tmp_path, DROP_IN.read_text())
    assert result.returncode == 0 and "override.conf" not in result.stdout + result.stderr, result.stdout + result.stderr
    # The drop-in is really read: a misspelt key in it is reported with its file and line.
    broken = verify_with_drop_in(tmp_path, DROP_IN.read_text().replace("PrivateTmp=no", "PrivateTempDir=no"))
    assert "override.conf" in broken.stdout + broken.stderr and "PrivateTempDir" in broken.stdout + broken.stderr


@pytest.mark.parametrize("environment", ["default", "systemd", "container", "macOS_service"])
def test_environment_chooses_where_the_log_goes_as_beats_does(fimbeat_bin, workspace, start_agent, environment):
    """systemd and container: stderr (systemd without @timestamp, the journal's own); the others:
    files under path.logs."""
    watched = workspace / "watched"
    watched.mkdir()
    config = workspace / "fimbeat.yml"
    config.write_text(f"fimbeat.modules: [{{module: file_integrity, paths: ['{watched}']}}]\n"
                      f"output.file.path: '{workspace / 'events'}'\n")
    config.chmod(0o600)
    agent = start_agent(config, log_to_stderr=False, args=["--environment", environment])
    log_file = workspace / "home" / "logs" / "fimbeat.ndjson"
    if environment in ("systemd", "container"):
        wait_for(agent.scan_done, message="the scan's line on stderr", agent=agent)
        records = agent.log_records()
        assert all(("@timestamp" in r) == (environment == "container") for r in records), records[:2]
        assert not log_file.exists()
    else:
        wait_for(lambda: log_file.exists() and b"scan done" in log_file.read_bytes(), agent=agent,
                 message=f"the scan's line in {log_file}")
        assert agent.stderr_text() == ""
    assert agent.stop() == 0
