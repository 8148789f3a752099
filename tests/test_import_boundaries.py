"""Services never import each other (they share only mosaic_events and mosaic_runtime), and no domain/ package
imports a framework: the rules of the business stay plain Python, testable without a database, broker or server."""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# What a domain/ package never imports: storage, HTTP, messaging, and the chassis that wraps them.
FRAMEWORKS = frozenset(
    {"sqlalchemy", "alembic", "fastapi", "starlette", "httpx", "faststream", "aiokafka", "kafka", "mosaic_runtime"}
)


@dataclass(frozen=True)
class Violation:
    file: Path
    line: int
    importer: str
    imported: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.importer} imports {self.imported}"


def service_packages(services: Path) -> dict[str, Path]:
    """Each service's top-level package (`mosaic_<svc>`) and its source folder."""
    return {pkg.name: pkg for pkg in sorted(services.glob("*/src/*")) if (pkg / "__init__.py").is_file()}


def imported_modules(tree: ast.AST) -> list[tuple[int, str]]:
    """Absolute modules a file imports (relative imports stay within the package)."""
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.append((node.lineno, node.module))
    return found


def boundary_violations(services: Path) -> list[Violation]:
    """Every import of one service's package from another service's code."""
    packages = service_packages(services)
    violations = []
    for importer, src in packages.items():
        for file in sorted(src.rglob("*.py")):
            for line, module in imported_modules(ast.parse(file.read_text(), filename=str(file))):
                top = module.split(".")[0]
                if top in packages and top != importer:
                    violations.append(Violation(file.relative_to(services), line, importer, module))
    return violations


def test_no_service_imports_another() -> None:
    packages = service_packages(ROOT / "services")
    assert {"mosaic_evidence", "mosaic_mastery", "mosaic_scheduling", "mosaic_notify"} <= set(packages)
    violations = boundary_violations(ROOT / "services")
    assert not violations, "services talk through events only:\n" + "\n".join(map(str, violations))


def test_the_check_catches_a_service_importing_another(tmp_path: Path) -> None:
    for svc in ("evidence", "mastery"):
        pkg = tmp_path / svc / "src" / f"mosaic_{svc}"
        (pkg / "domain").mkdir(parents=True)
        (pkg / "__init__.py").write_text("")
    (tmp_path / "mastery/src/mosaic_mastery/domain/model.py").write_text(
        "import json\n"
        "from mosaic_events import Envelope\n"
        "from . import levels\n"
        "def f():\n"
        "    from mosaic_evidence.domain import recording  # hidden inside a function\n"
    )
    (tmp_path / "evidence/src/mosaic_evidence/api.py").write_text("import mosaic_mastery.domain.model as m\n")

    violations = boundary_violations(tmp_path)

    assert [str(v) for v in violations] == [
        "evidence/src/mosaic_evidence/api.py:1: mosaic_evidence imports mosaic_mastery.domain.model",
        "mastery/src/mosaic_mastery/domain/model.py:5: mosaic_mastery imports mosaic_evidence.domain",
    ]


def framework_imports_in_domains(services: Path) -> list[Violation]:
    """Every import of a framework (FRAMEWORKS) from a file under a service's domain/ package."""
    violations = []
    for name, src in service_packages(services).items():
        for file in sorted((src / "domain").rglob("*.py")):
            for line, module in imported_modules(ast.parse(file.read_text(), filename=str(file))):
                if module.split(".")[0] in FRAMEWORKS:
                    violations.append(Violation(file.relative_to(services), line, f"{name}.domain", module))
    return violations


def test_no_domain_imports_a_framework() -> None:
    packages = service_packages(ROOT / "services")
    backends = ("evidence", "mastery", "scheduling", "notify")  # the portal is a front: it has no domain/
    assert all((packages[f"mosaic_{svc}"] / "domain").is_dir() for svc in backends)
    violations = framework_imports_in_domains(ROOT / "services")
    assert not violations, "domain/ is pure; move this to adapters/ or service/:\n" + "\n".join(map(str, violations))


def test_the_check_catches_a_framework_in_a_domain(tmp_path: Path) -> None:
    pkg = tmp_path / "notify" / "src" / "mosaic_notify"
    (pkg / "domain").mkdir(parents=True)
    (pkg / "adapters").mkdir()
    (pkg / "__init__.py").write_text("")
    (pkg / "adapters/store.py").write_text("import sqlalchemy\n")  # adapters may
    (pkg / "domain/digest.py").write_text(
        "from dataclasses import dataclass\n"
        "from pydantic import BaseModel\n"
        "from sqlalchemy.ext.asyncio import AsyncSession\n"
        "def send():\n"
        "    import aiokafka  # hidden inside a function\n"
    )

    violations = framework_imports_in_domains(tmp_path)

    assert [str(v) for v in violations] == [
        "notify/src/mosaic_notify/domain/digest.py:3: mosaic_notify.domain imports sqlalchemy.ext.asyncio",
        "notify/src/mosaic_notify/domain/digest.py:5: mosaic_notify.domain imports aiokafka",
    ]
