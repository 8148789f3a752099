"""Apache Kafka's jars from Maven Central, resolved once into a cache that later runs reuse without a download."""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

KAFKA_VERSION = "3.9.1"
POM_PATH = Path(__file__).resolve().parents[3] / "kafka" / "pom.xml"
COMPLETE_MARKER = ".complete"
HOW_TO_GET_A_BROKER = (
    "Get a Kafka broker one of these ways: install Java 17+ and Maven (Debian: "
    "`apt-get install -y openjdk-17-jre-headless maven`) so the local launcher can fetch Apache Kafka "
    "from Maven Central; or run a Docker engine (testcontainers starts Kafka); or point "
    "KAFKA_BOOTSTRAP_SERVERS at a running broker (host:port)."
)


class KafkaUnavailable(RuntimeError):
    """No broker could be started; the message says why and how to get one."""


def cache_dir() -> Path:
    """Where the broker's jars live: `$MOSAIC_KAFKA_CACHE` or `~/.cache/mosaic/kafka-<version>`."""
    override = os.environ.get("MOSAIC_KAFKA_CACHE")
    if override:
        return Path(override).expanduser()
    return Path.home() / ".cache" / "mosaic" / f"kafka-{KAFKA_VERSION}"


def lib_dir() -> Path:
    return cache_dir() / "lib"


def jars_present(lib: Path | None = None) -> bool:
    """True when a complete earlier fetch left every jar it listed in the cache."""
    lib = lib or lib_dir()
    marker = lib / COMPLETE_MARKER
    if not marker.is_file():
        return False
    names = [line for line in marker.read_text().splitlines() if line]
    return bool(names) and all((lib / name).is_file() for name in names)


def require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise KafkaUnavailable(
            f"`{name}` is not on PATH, so the local Kafka launcher cannot run. {HOW_TO_GET_A_BROKER}"
        )
    return path


def fetch_jars(*, quiet: bool = True) -> Path:
    """Resolve the broker's jars with Maven into the cache once; later calls reuse them and download nothing."""
    lib = lib_dir()
    if jars_present(lib):
        return lib
    mvn = require_tool("mvn")
    if not POM_PATH.is_file():
        raise KafkaUnavailable(f"the Kafka pom is missing at {POM_PATH}; reinstall mosaic-dev from the source tree")
    lib.parent.mkdir(parents=True, exist_ok=True)
    with open(lib.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be fetching the same jars
        if jars_present(lib):
            return lib
        staging = Path(tempfile.mkdtemp(prefix="lib-", dir=lib.parent))
        command = [
            mvn,
            "-B",
            "-ntp",
            *(["-q"] if quiet else []),
            "-f",
            str(POM_PATH),
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={staging}",
        ]
        result = subprocess.run(command, capture_output=quiet, text=True, check=False)
        jars = sorted(p.name for p in staging.glob("*.jar"))
        if result.returncode != 0 or not jars:
            shutil.rmtree(staging, ignore_errors=True)
            detail = (result.stdout or "")[-3000:] if quiet else ""
            raise KafkaUnavailable(
                f"Maven could not resolve Apache Kafka {KAFKA_VERSION} (exit {result.returncode}). "
                f"Is Maven Central reachable?\n{detail}"
            )
        (staging / COMPLETE_MARKER).write_text("\n".join(jars) + "\n")
        shutil.rmtree(lib, ignore_errors=True)
        staging.rename(lib)
    return lib
