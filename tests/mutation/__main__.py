"""`make mutation`: mutmut on the rule and service modules users rely on, one module at a time, each with
the fast-tier tests that exercise it, and the score of each: killed mutants among those its tests reach.

Each module is mutated in a scratch copy of the project (build/mutation/<module>/), so the runs never touch
the working tree and each reads its own test selection. The core layer sits at the root of the copy, and
the mutated copy is put first on the import path, ahead of the editable install. Mutants listed in
tests/mutation/equivalent.toml (each with the reason it behaves as the original) are left out of the
score, and named.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tomllib
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SCRATCH = ROOT / "build" / "mutation"
EQUIVALENT = Path(__file__).with_name("equivalent.toml")
COPIED = ["functions", "infra", "local_stack", "agent", "events", "tests", "pyproject.toml"]
TARGET = 90.0
CORE = "dumont_core"
"""Where the core layer is in the scratch copy: at its root, so mutmut names its modules as Python does."""


@dataclass(frozen=True)
class Module:
    path: str
    tests: tuple[str, ...]


MODULES: dict[str, Module] = {
    "access.tokens": Module("access/tokens.py", ("tests/unit/access/test_tokens.py",)),
    "access.permissions": Module(
        "access/permissions.py",
        ("tests/unit/access/test_permissions.py", "tests/integration/access/test_route_permissions.py"),
    ),
    "instances.service": Module(
        "instances/service.py",
        (
            "tests/integration/instances/test_state_rules.py",
            "tests/integration/instances/test_lost_races.py",
            "tests/integration/instances/test_creation.py",
            "tests/integration/instances/test_instance_changes.py",
            "tests/integration/instances/test_instance_reads.py",
            "tests/integration/instances/test_interruptions.py",
        ),
    ),
    "snapshots.service": Module(
        "snapshots/service.py",
        (
            "tests/integration/snapshots/",
            "tests/integration/instances/test_lost_races.py",
            "tests/integration/billing/test_balance.py",
        ),
    ),
    "serverless.service": Module(
        "serverless/service.py",
        (
            "tests/unit/serverless/",
            "tests/integration/serverless/",
            "tests/integration/instances/test_lost_races.py",
        ),
    ),
}


def prepare(name: str, module: Module) -> Path:
    """A scratch copy of the project whose mutmut settings mutate `module` and run its tests."""
    work = SCRATCH / name
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc", "node_modules", "cdk.out")
    shutil.copytree(ROOT / "layers" / "core" / CORE, work / CORE, ignore=ignore)
    for entry in COPIED:
        source = ROOT / entry
        if source.is_dir():
            shutil.copytree(source, work / entry, ignore=ignore)
        else:
            shutil.copy2(source, work / entry)
    settings = {
        "source_paths": [CORE],
        "only_mutate": [f"{CORE}/{module.path}"],
        "also_copy": COPIED,
        "pytest_add_cli_args_test_selection": list(module.tests),
        "pytest_add_cli_args": ["-p", "no:cacheprovider"],
    }
    lines = ["", "[tool.mutmut]"] + [f"{key} = {json.dumps(value)}" for key, value in settings.items()]
    with (work / "pyproject.toml").open("a") as pyproject:
        pyproject.write("\n".join(lines) + "\n")
    return work


def run(name: str, module: Module) -> dict[str, list[str]]:
    work = prepare(name, module)
    mutants = work / "mutants"
    # Made before mutmut starts, or the interpreter remembers these entries of its path as missing.
    (mutants / "functions").mkdir(parents=True)
    # The mutated copy first: imported ahead of the editable install, which points at the working tree.
    path = [str(mutants), str(mutants / "functions")]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(path), "PYTHONDONTWRITEBYTECODE": "1"}
    mutmut = [sys.executable, "-m", "mutmut"]
    print(f"{name}: mutating {CORE}/{module.path} with {' '.join(module.tests)} (log: {work / 'mutmut.log'})")
    with (work / "mutmut.log").open("w") as log:
        subprocess.run(
            [*mutmut, "run", "--max-children", "1"],
            cwd=work,
            env=environment,
            check=True,
            stdout=log,
            stderr=log,
        )
    return results(work, environment)


def results(work: Path, environment: dict[str, str]) -> dict[str, list[str]]:
    """Mutant names by outcome (killed, survived, no tests, timeout…), as `mutmut results --all` says."""
    listed = subprocess.run(
        [sys.executable, "-m", "mutmut", "results", "--all", "true"],
        cwd=work,
        env=environment,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    outcomes: dict[str, list[str]] = {}
    for line in listed.splitlines():
        mutant, _, outcome = line.strip().rpartition(": ")
        if mutant:
            outcomes.setdefault(outcome, []).append(mutant)
    return outcomes


def score(name: str, outcomes: dict[str, list[str]], equivalent: dict[str, str]) -> float:
    survived = [mutant for mutant in outcomes.get("survived", []) if mutant not in equivalent]
    excused = [mutant for mutant in outcomes.get("survived", []) if mutant in equivalent]
    killed = sum(len(names) for outcome, names in outcomes.items() if outcome in ("killed", "timeout"))
    reached = killed + len(survived)
    percent = 100.0 * killed / reached if reached else 0.0
    print(
        f"{name:<22} {percent:5.1f}% of {reached} reached mutants killed; {len(excused)} equivalent, "
        f"{len(outcomes.get('no tests', []))} not reached"
    )
    for mutant in survived:
        print(f"    survived: {mutant}")
    return percent


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("modules", nargs="*", help=f"only these, of {', '.join(MODULES)} (default: all)")
    chosen = parser.parse_args().modules or list(MODULES)
    unknown = set(chosen) - set(MODULES)
    if unknown:
        parser.error(f"no such module: {', '.join(sorted(unknown))}")
    equivalent = tomllib.loads(EQUIVALENT.read_text()) if EQUIVALENT.exists() else {}
    scores = {}
    for name in chosen:  # one at a time: each run uses the machine's cores
        outcomes = run(name, MODULES[name])
        scores[name] = score(name, outcomes, equivalent.get(name, {}))
    print()
    for name, percent in scores.items():
        print(f"{name:<22} {percent:5.1f}%  {'ok' if percent >= TARGET else f'under {TARGET:g}%'}")
    return 0 if all(percent >= TARGET for percent in scores.values()) else 1


if __name__ == "__main__":
    sys.exit(main())
