"""A real Apache Kafka broker (KRaft, one node) on loopback, resolved from Maven Central: no Docker needed."""

from __future__ import annotations

import contextlib
import fcntl
import functools
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

KAFKA_VERSION = "3.9.1"
POM_PATH = Path(__file__).resolve().parents[2] / "kafka" / "pom.xml"
COMPLETE_MARKER = ".complete"
HOW_TO_GET_A_BROKER = (
    "Get a Kafka broker one of these ways: install Java 17+ and Maven (Debian: "
    "`apt-get install -y openjdk-17-jre-headless maven`) so the local launcher can fetch Apache Kafka "
    "from Maven Central; or run a Docker engine (testcontainers starts Kafka); or point "
    "KAFKA_BOOTSTRAP_SERVERS at a running broker (host:port)."
)


# For short-lived test brokers: the C1 compiler alone starts the JVM with about a fifth less CPU.
QUICK_START_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)


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


def _require_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise KafkaUnavailable(f"`{name}` is not on PATH, so the local Kafka launcher cannot run. "
                               f"{HOW_TO_GET_A_BROKER}")
    return path


def fetch_jars(*, quiet: bool = True) -> Path:
    """Resolve the broker's jars with Maven into the cache once; later calls reuse them and download nothing."""
    lib = lib_dir()
    if jars_present(lib):
        return lib
    mvn = _require_tool("mvn")
    if not POM_PATH.is_file():
        raise KafkaUnavailable(f"the Kafka pom is missing at {POM_PATH}; reinstall mosaic-dev from the source tree")
    lib.parent.mkdir(parents=True, exist_ok=True)
    with open(lib.parent / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # another process may be fetching the same jars
        if jars_present(lib):
            return lib
        staging = Path(tempfile.mkdtemp(prefix="lib-", dir=lib.parent))
        command = [mvn, "-B", "-ntp", *(["-q"] if quiet else []), "-f", str(POM_PATH), "dependency:copy-dependencies",
                   "-DincludeScope=runtime", f"-DoutputDirectory={staging}"]
        result = subprocess.run(command, capture_output=quiet, text=True, check=False)
        jars = sorted(p.name for p in staging.glob("*.jar"))
        if result.returncode != 0 or not jars:
            shutil.rmtree(staging, ignore_errors=True)
            detail = (result.stdout or "")[-3000:] if quiet else ""
            raise KafkaUnavailable(f"Maven could not resolve Apache Kafka {KAFKA_VERSION} (exit {result.returncode}). "
                                   f"Is Maven Central reachable?\n{detail}")
        (staging / COMPLETE_MARKER).write_text("\n".join(jars) + "\n")
        shutil.rmtree(lib, ignore_errors=True)
        staging.rename(lib)
    return lib


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def port_is_free(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _accepts_connections(port: int) -> bool:
    with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), timeout=1):
        return True
    return False


def server_properties(*, port: int, controller_port: int, log_dir: Path) -> str:
    """Single-node KRaft settings: broker and controller in one JVM, sized for a shared 2-core machine."""
    settings = {
        "process.roles": "broker,controller",
        "node.id": "1",
        "controller.quorum.voters": f"1@127.0.0.1:{controller_port}",
        "listeners": f"PLAINTEXT://127.0.0.1:{port},CONTROLLER://127.0.0.1:{controller_port}",
        "advertised.listeners": f"PLAINTEXT://127.0.0.1:{port}",
        "controller.listener.names": "CONTROLLER",
        "inter.broker.listener.name": "PLAINTEXT",
        "listener.security.protocol.map": "PLAINTEXT:PLAINTEXT,CONTROLLER:PLAINTEXT",
        "log.dirs": str(log_dir),
        "num.partitions": "1",
        "default.replication.factor": "1",
        "offsets.topic.replication.factor": "1",
        "offsets.topic.num.partitions": "10",
        "transaction.state.log.replication.factor": "1",
        "transaction.state.log.min.isr": "1",
        "transaction.state.log.num.partitions": "4",
        "group.initial.rebalance.delay.ms": "0",
        "message.max.bytes": str(10 * 1024 * 1024),
        "replica.fetch.max.bytes": str(10 * 1024 * 1024),
        "num.network.threads": "2",
        "num.io.threads": "4",
        "num.recovery.threads.per.data.dir": "1",
        "auto.create.topics.enable": "true",
        "delete.topic.enable": "true",
    }
    return "".join(f"{key}={value}\n" for key, value in settings.items())


LOG4J_PROPERTIES = """\
log4j.rootLogger=WARN, stdout
log4j.appender.stdout=org.apache.log4j.ConsoleAppender
log4j.appender.stdout.layout=org.apache.log4j.PatternLayout
log4j.appender.stdout.layout.ConversionPattern=[%d] %p %m (%c)%n
log4j.logger.kafka=WARN
log4j.logger.org.apache.kafka=WARN
"""


def _die_with_parent() -> None:
    """Runs in the child before exec: the broker gets SIGTERM if the process that started it dies."""
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


def class_archive_path(lib: Path, java: str) -> Path:
    """The JVM class-data archive for this classpath and this java; in lib/ so a re-fetch of the jars drops it."""
    java_id = hashlib.sha1(str(Path(java).resolve()).encode()).hexdigest()[:10]
    return lib / f"kafka-classes-{java_id}.jsa"


@functools.cache
def can_dump_class_archive(java: str) -> bool:
    """Dumping needs the JDK's base CDS archive; without it the JVM refuses to start, so ask a throw-away JVM."""
    with tempfile.TemporaryDirectory() as scratch:
        probe = subprocess.run([java, f"-XX:ArchiveClassesAtExit={scratch}/probe.jsa", "-version"],
                               capture_output=True, check=False)
    return probe.returncode == 0


class _ClassArchive:
    """Class-data sharing for the broker JVM: the first clean stop writes the archive, later starts map it.

    It cuts the CPU of a broker start by about 40% here (2 shared cores), which is most of a test broker's cost.
    """

    def __init__(self, lib: Path, java: str) -> None:
        self.path = class_archive_path(lib, java)
        self.pending: Path | None = None
        if not self.path.is_file() and can_dump_class_archive(java):
            self.pending = self.path.with_name(f"{self.path.name}.{uuid.uuid4().hex}.tmp")

    def jvm_options(self) -> list[str]:
        if self.pending is not None:
            return [f"-XX:ArchiveClassesAtExit={self.pending}"]
        return [f"-XX:SharedArchiveFile={self.path}"] if self.path.is_file() else []

    def settle(self, exited_cleanly: bool) -> None:
        """Keep the archive the JVM wrote at a clean exit; drop a half-written one."""
        if self.pending is None:
            return
        if exited_cleanly and self.pending.is_file() and self.pending.stat().st_size > 0:
            os.replace(self.pending, self.path)
        else:
            self.pending.unlink(missing_ok=True)
        self.pending = None


def _pick_endpoints(port: int, controller_port: int) -> BrokerEndpoints:
    port = port or free_port()
    controller_port = controller_port or free_port()
    while controller_port == port:
        controller_port = free_port()
    return BrokerEndpoints(port, controller_port)


@dataclass(frozen=True)
class BrokerEndpoints:
    port: int
    controller_port: int

    @property
    def bootstrap(self) -> str:
        return f"127.0.0.1:{self.port}"


class LocalKafka:
    """One broker process; stop() keeps ports and data so start()/restart() bring the same broker back."""

    def __init__(self, data_dir: Path | str | None = None, *, port: int = 0, controller_port: int = 0,
                 heap: str = "512m", jvm_options: tuple[str, ...] = (), class_sharing: bool = True,
                 start_timeout: float = 120.0) -> None:
        self._owns_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="mosaic-kafka-"))
        self._may_move_ports = not (port or controller_port)  # until the first start; afterwards ports are fixed
        self.endpoints = _pick_endpoints(port, controller_port)
        self.heap = heap
        self.jvm_options = tuple(jvm_options)
        self.class_sharing = class_sharing
        self._class_archive: _ClassArchive | None = None
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def bootstrap(self) -> str:
        return self.endpoints.bootstrap

    @property
    def pid(self) -> int | None:
        return self._process.pid if self._process else None

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    @property
    def broker_log(self) -> Path:
        return self.data_dir / "broker.out"

    def start(self) -> LocalKafka:
        """Start the broker (formatting storage on first use) and return once it answers a metadata request."""
        if self.running:
            return self
        try:
            self._launch()
        except KafkaUnavailable:
            if not (self._may_move_ports and "Address already in use" in self._log_tail()):
                raise
            self.endpoints = _pick_endpoints(0, 0)  # another process took a port we had picked: pick again, once
            self._launch()
        self._may_move_ports = False
        return self

    def _launch(self) -> None:
        java = _require_tool("java")
        lib = fetch_jars()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        classpath = f"{lib}/*"
        shared = self._share_classes(lib, java)
        if not (self.data_dir / "logs" / "meta.properties").exists():
            self._format_storage(java, classpath, config)
        command = [java, f"-Xmx{self.heap}", "-Xms128m", "-XX:+UseSerialGC", "-Djava.awt.headless=true",
                   *shared, *self.jvm_options, f"-Dlog4j.configuration=file:{self.data_dir / 'log4j.properties'}",
                   "-cp", classpath, "kafka.Kafka", str(config)]
        in_main_thread = threading.current_thread() is threading.main_thread()
        with open(self.broker_log, "ab") as out:
            self._process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL,
                                             start_new_session=True,
                                             preexec_fn=_die_with_parent if in_main_thread else None)
        try:
            self._wait_until_answering()
        except BaseException:
            self.stop()
            raise

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM for a clean shutdown, then SIGKILL if it has not exited in `timeout` seconds."""
        process, self._process = self._process, None
        if process is None:
            return
        exited_cleanly = True
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                exited_cleanly = False
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait(timeout=10)
        if self._class_archive is not None:
            self._class_archive.settle(exited_cleanly)
            self._class_archive = None

    def _share_classes(self, lib: Path, java: str) -> list[str]:
        if not self.class_sharing:
            return []
        self._class_archive = _ClassArchive(lib, java)
        return self._class_archive.jvm_options()

    def restart(self) -> LocalKafka:
        self.stop()
        return self.start()

    def close(self) -> None:
        """Stop the broker and remove its data if this launcher made the folder."""
        self.stop()
        if self._owns_data_dir:
            shutil.rmtree(self.data_dir, ignore_errors=True)

    def __enter__(self) -> LocalKafka:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _write_config(self) -> Path:
        config = self.data_dir / "server.properties"
        config.write_text(server_properties(port=self.endpoints.port, controller_port=self.endpoints.controller_port,
                                            log_dir=self.data_dir / "logs"))
        (self.data_dir / "log4j.properties").write_text(LOG4J_PROPERTIES)
        return config

    def _format_storage(self, java: str, classpath: str, config: Path) -> None:
        cluster_id = _kafka_uuid()
        archive = class_archive_path(Path(classpath.rstrip("*")), java)
        shared = [f"-XX:SharedArchiveFile={archive}"] if self.class_sharing and archive.is_file() else []
        command = [java, "-Xmx256m", *shared, f"-Dlog4j.configuration=file:{self.data_dir / 'log4j.properties'}",
                   "-cp", classpath, "kafka.tools.StorageTool", "format", "-t", cluster_id, "-c", str(config)]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise KafkaUnavailable(f"formatting Kafka storage in {self.data_dir} failed (exit {result.returncode}):\n"
                                   f"{result.stdout[-2000:]}{result.stderr[-2000:]}")

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise KafkaUnavailable(f"the Kafka broker exited during start-up; its output:\n{self._log_tail()}")
            if _accepts_connections(self.endpoints.port) and _answers_metadata(self.bootstrap):
                return
            time.sleep(0.3)
        raise KafkaUnavailable(f"the Kafka broker did not answer on {self.bootstrap} within "
                               f"{self.start_timeout:.0f} s; its output:\n{self._log_tail()}")

    def _log_tail(self, chars: int = 4000) -> str:
        try:
            return self.broker_log.read_text(errors="replace")[-chars:]
        except OSError:
            return "(no output)"


def _kafka_uuid() -> str:
    """A cluster id in Kafka's format (base64url of 16 random bytes, no padding), like `StorageTool random-uuid`.

    Like Kafka's Uuid.randomUuid, never one starting with "-": the storage tool would read it as an option.
    """
    import base64

    while True:
        cluster_id = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not cluster_id.startswith("-"):
            return cluster_id


def _answers_metadata(bootstrap: str) -> bool:
    """True when the broker returns cluster metadata with itself in it."""
    from kafka.admin import KafkaAdminClient

    try:
        admin = KafkaAdminClient(bootstrap_servers=bootstrap, client_id="mosaic-dev-probe",
                                 bootstrap_timeout_ms=5000, request_timeout_ms=5000)
    except Exception:
        return False
    try:
        return bool(admin.describe_cluster().get("brokers"))
    except Exception:
        return False
    finally:
        admin.close()
