"""mypy (scripts/check) is strict on every domain/ and service/ package a service has, including a new one."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STRICT_FLAGS = {"disallow_untyped_defs", "disallow_any_generics", "warn_return_any", "strict_equality"}


def strict_modules(config: dict) -> set[str]:
    """Module patterns of the overrides that turn the strict flags on."""
    return {
        module
        for override in config["tool"]["mypy"].get("overrides", [])
        if all(override.get(flag) is True for flag in STRICT_FLAGS)
        for module in override["module"]
    }


def layers_needing_strictness(services: Path) -> set[str]:
    packages = [p for p in services.glob("*/src/*") if (p / "__init__.py").is_file()]
    return {
        f"{p.name}.{layer}{suffix}"
        for p in packages
        for layer in ("domain", "service")
        if (p / layer).is_dir()
        for suffix in ("", ".*")
    }


def test_every_domain_and_service_package_is_checked_strictly() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    needed = layers_needing_strictness(ROOT / "services")
    assert {"mosaic_mastery.domain", "mosaic_evidence.service.*"} <= needed
    missing = needed - strict_modules(config)
    assert not missing, f"add to the strict [[tool.mypy.overrides]] in pyproject.toml: {sorted(missing)}"


def test_the_check_notices_a_new_service_layer(tmp_path: Path) -> None:
    (tmp_path / "library/src/mosaic_library/domain").mkdir(parents=True)
    (tmp_path / "library/src/mosaic_library/__init__.py").write_text("")
    config = {
        "tool": {"mypy": {"overrides": [{"module": ["mosaic_library.domain"], **dict.fromkeys(STRICT_FLAGS, True)}]}}
    }

    assert layers_needing_strictness(tmp_path) - strict_modules(config) == {"mosaic_library.domain.*"}
