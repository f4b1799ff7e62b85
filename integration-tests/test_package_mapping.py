"""fimbeat's index template maps every field of Elastic's fim integration package with the package's type.

The package's resolved types (fim 1.18.0, elastic/integrations packages/fim) are kept in
fixtures/fim-package-1.18-fields.tsv; the template is what `fimbeat export template` prints and
`fimbeat setup` installs.
"""

from __future__ import annotations

import json
from pathlib import Path

from conftest import FIXTURES, run_cli, write_config


def package_fields() -> dict[str, str]:
    out = {}
    for line in (FIXTURES / "fim-package-1.18-fields.tsv").read_text().splitlines():
        if line and not line.startswith("#"):
            name, kind = line.split("\t")
            out[name] = kind
    return out


def template_types(mappings: dict) -> dict[str, str]:
    """Every mapped field (and multi-field) of the template's properties → its type."""
    out: dict[str, str] = {}

    def walk(prefix: str, properties: dict) -> None:
        for name, mapping in properties.items():
            path = prefix + name
            if "properties" in mapping:
                walk(path + ".", mapping["properties"])
                continue
            out[path] = mapping["type"]
            for sub, sub_mapping in mapping.get("fields", {}).items():
                out[f"{path}.{sub}"] = sub_mapping["type"]

    walk("", mappings["properties"])
    return out


def test_template_types_equal_the_fim_packages_for_every_shared_field(fimbeat_bin, workspace):
    config = write_config(workspace / "fimbeat.yml", "fimbeat.modules:\n- module: file_integrity\n  paths: [/etc]\n"
                                                     "output.elasticsearch:\n  hosts: [localhost:9200]\n")
    result = run_cli(fimbeat_bin, "export", "template", "-c", config, "--path.home", workspace / "home")
    assert result.returncode == 0, result.stderr
    mapped = template_types(json.loads(result.stdout)["template"]["mappings"])
    expected = package_fields()
    assert len(expected) > 100
    differences = {name: (kind, mapped.get(name, "not mapped")) for name, kind in expected.items() if mapped.get(name) != kind}
    assert not differences, "package type vs fimbeat's: " + json.dumps(differences, indent=1)
