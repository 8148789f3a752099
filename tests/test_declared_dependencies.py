"""Each workspace package imports only what its own dependencies install, and no service installs dev tooling.

A service image is `uv sync --package mosaic-<svc> --no-dev` (deploy/docker/service.Dockerfile): the package's
dependency closure in uv.lock. An import outside that closure works in the workspace venv and fails in the image.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from dataclasses import dataclass
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SERVICES = tuple(sorted(p.name for p in (ROOT / "services").iterdir() if (p / "pyproject.toml").is_file()))
SOURCES = {f"mosaic-{s}": ROOT / "services" / s / "src" / f"mosaic_{s}" for s in SERVICES} | {
    "mosaic-events": ROOT / "libs/events/src/mosaic_events",
    "mosaic-runtime": ROOT / "libs/runtime/src/mosaic_runtime",
    "mosaic-dev": ROOT / "deploy/src/mosaic_dev",
}
DEV_ONLY = {"mosaic-dev", "aiosmtpd", "pytest", "hypothesis", "testcontainers"}


@dataclass(frozen=True)
class UndeclaredImport:
    file: Path
    line: int
    module: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: imports {self.module}, which no dependency of the package installs"


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed_closure(lock: dict, package: str, *, dev_group: bool = False) -> set[str]:
    """Distributions `uv sync --package <package> --no-dev` installs: its locked dependencies, extras included;
    with `dev_group`, also the workspace's dev group (what a test run has)."""
    packages = {normalized(p["name"]): p for p in lock["package"]}
    seen: set[str] = set()
    todo: list[tuple[str, tuple[str, ...]]] = [(normalized(package), ())]
    if dev_group:
        dev = packages["mosaic"]["dev-dependencies"]["dev"]
        todo += [(normalized(d["name"]), tuple(d.get("extra", ()))) for d in dev]
    while todo:
        name, extras = todo.pop()
        entry = packages[name]
        if name not in seen:
            seen.add(name)
            todo += [(normalized(d["name"]), tuple(d.get("extra", ()))) for d in entry.get("dependencies", ())]
        for extra in extras:
            optional = entry.get("optional-dependencies", {}).get(extra, ())
            todo += [(normalized(d["name"]), tuple(d.get("extra", ()))) for d in optional]
    return seen


def absolute_imports(source: Path) -> list[tuple[Path, int, str]]:
    """Every absolute import under `source`, as (file, line, top-level module)."""
    found = []
    for file in sorted(source.rglob("*.py")):
        for node in ast.walk(ast.parse(file.read_text(), filename=str(file))):
            if isinstance(node, ast.Import):
                found += [(file, node.lineno, alias.name.split(".")[0]) for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                found.append((file, node.lineno, node.module.split(".")[0]))
    return found


def undeclared_imports(source: Path, closure: set[str], owners: dict[str, list[str]]) -> list[UndeclaredImport]:
    """Imports of third-party or workspace modules that no distribution in `closure` provides."""
    return [
        UndeclaredImport(file.relative_to(ROOT) if file.is_relative_to(ROOT) else file, line, module)
        for file, line, module in absolute_imports(source)
        if module not in sys.stdlib_module_names
        and module != source.name
        and not any(normalized(dist) in closure for dist in owners.get(module, [normalized(module)]))
    ]


@pytest.fixture(scope="module")
def lock() -> dict:
    return tomllib.loads((ROOT / "uv.lock").read_text())


@pytest.fixture(scope="module")
def owners() -> dict[str, list[str]]:
    """Top-level module → the distributions providing it; workspace packages are named by their folders."""
    return dict(packages_distributions()) | {src.name: [package] for package, src in SOURCES.items()}


@pytest.mark.parametrize("package", sorted(SOURCES))
def test_a_package_imports_only_what_its_dependencies_install(package: str, lock: dict, owners: dict) -> None:
    found = undeclared_imports(SOURCES[package], installed_closure(lock, package), owners)
    # mosaic-dev's pytest plugin runs only under pytest, with the workspace's dev group installed.
    under_pytest = installed_closure(lock, package, dev_group=True)
    still = {(f.file, f.line) for f in undeclared_imports(SOURCES[package], under_pytest, owners)}
    found = [f for f in found if f.file.name != "pytest_plugin.py" or (f.file, f.line) in still]
    assert not found, f"declare these in {package}'s pyproject.toml (or move the code):\n" + "\n".join(map(str, found))


@pytest.mark.parametrize("service", SERVICES)
def test_a_service_image_installs_no_dev_tooling(service: str, lock: dict) -> None:
    assert installed_closure(lock, f"mosaic-{service}") & DEV_ONLY == set()


def test_the_check_catches_an_import_the_package_does_not_declare(tmp_path: Path, lock: dict, owners: dict) -> None:
    package = tmp_path / "mosaic_notify"
    package.mkdir()
    (package / "mail.py").write_text(
        "import json\nfrom aiosmtplib import SMTP\nfrom mosaic_notify import domain\n"
        "def serve():\n    from aiosmtpd.controller import Controller  # hidden inside a function\n"
    )

    found = undeclared_imports(package, installed_closure(lock, "mosaic-notify"), owners)

    assert [(f.line, f.module) for f in found] == [(5, "aiosmtpd")]
