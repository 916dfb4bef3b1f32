"""The template deploys: no circular dependencies, and cdk.json runs the app."""

from __future__ import annotations

import json
import re
from typing import Any

from infra.topology import REPO_ROOT
from tests.integration.infra.template import Synthesized, as_list


def _references(value: Any) -> set[str]:
    """Logical ids `value` refers to through Ref, Fn::GetAtt or Fn::Sub."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= _references(item)
    elif isinstance(value, dict):
        for key, item in value.items():
            if key == "Ref":
                found.add(item)
            elif key == "Fn::GetAtt":
                found.add(item[0] if isinstance(item, list) else item.split(".")[0])
            elif key == "Fn::Sub":
                text, variables = (item, {}) if isinstance(item, str) else item
                found |= {name.split(".")[0] for name in re.findall(r"\$\{([^}!]+)\}", text)}
                found |= _references(variables)
            else:
                found |= _references(item)
    return found


def test_the_template_has_no_circular_dependencies(synthesized: Synthesized) -> None:
    """CloudFormation rejects a circular template only when deploying; CDK does not look within a stack.

    The tasks function's PUBLIC_API_URL names the API stage, whose methods must keep reaching the API
    function by name (see PublicApi) for this to hold.
    """
    resources = synthesized.resources
    depends_on: dict[str, set[str]] = {}
    for key, resource in resources.items():
        explicit = resource.get("DependsOn", [])
        named = _references(resource.get("Properties", {})) | set(as_list(explicit))
        depends_on[key] = named & set(resources)
    done: set[str] = set()

    def visit(key: str, path: list[str]) -> None:
        for dependency in sorted(depends_on[key]):
            assert dependency not in path, " -> ".join([*path[path.index(dependency) :], dependency])
            if dependency not in done:
                visit(dependency, [*path, dependency])
        done.add(key)

    for key in sorted(resources):
        if key not in done:
            visit(key, [key])


def test_repository_layout_assumptions() -> None:
    assert (REPO_ROOT / "cdk.json").is_file()
    assert json.loads((REPO_ROOT / "cdk.json").read_text())["app"] == ".venv/bin/python infra/app.py"
