"""The local broker process: format storage once, start, wait until it answers, stop cleanly, restart in place."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import tempfile
import threading
import time
import uuid
from dataclasses import dataclass
from pathlib import Path

from mosaic_dev.kafka.class_sharing import ClassArchive, class_archive_path
from mosaic_dev.kafka.config import LOG4J_PROPERTIES, SCRAM, accepts_connections, free_port, server_properties
from mosaic_dev.kafka.jars import KafkaUnavailable, fetch_jars, require_tool

# For short-lived test brokers: the C1 compiler alone starts the JVM with about a fifth less CPU.
QUICK_START_JVM_OPTIONS = ("-XX:TieredStopAtLevel=1",)


def _die_with_parent() -> None:
    """Runs in the child before exec: the broker gets SIGTERM if the process that started it dies."""
    import ctypes

    pr_set_pdeathsig = 1
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(pr_set_pdeathsig, signal.SIGTERM)


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

    def __init__(
        self,
        data_dir: Path | str | None = None,
        *,
        port: int = 0,
        controller_port: int = 0,
        heap: str = "512m",
        jvm_options: tuple[str, ...] = (),
        class_sharing: bool = True,
        start_timeout: float = 120.0,
        scram_users: dict[str, str] | None = None,
    ) -> None:
        self._owns_data_dir = data_dir is None
        self.data_dir = Path(data_dir) if data_dir else Path(tempfile.mkdtemp(prefix="mosaic-kafka-"))
        self._may_move_ports = not (port or controller_port)  # until the first start; afterwards ports are fixed
        self.endpoints = _pick_endpoints(port, controller_port)
        self.heap = heap
        self.jvm_options = tuple(jvm_options)
        self.class_sharing = class_sharing
        self._class_archive: ClassArchive | None = None
        self.start_timeout = start_timeout
        self._process: subprocess.Popen[bytes] | None = None
        # SCRAM-SHA-512 users (name → password) on a SASL_PLAINTEXT listener of its own; PLAINTEXT stays for admins
        self.scram_users = dict(scram_users or {})
        self.sasl_port = free_port() if self.scram_users else None

    @property
    def bootstrap(self) -> str:
        return self.endpoints.bootstrap

    @property
    def sasl_bootstrap(self) -> str:
        """The SASL_PLAINTEXT (SCRAM-SHA-512) listener's address; only with `scram_users`."""
        if self.sasl_port is None:
            raise ValueError("this broker has no SASL listener: pass scram_users")
        return f"127.0.0.1:{self.sasl_port}"

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
        java = require_tool("java")
        lib = fetch_jars()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        config = self._write_config()
        classpath = f"{lib}/*"
        shared = self._share_classes(lib, java)
        if not (self.data_dir / "logs" / "meta.properties").exists():
            self._format_storage(java, classpath, config)
        command = [
            java,
            f"-Xmx{self.heap}",
            "-Xms128m",
            "-XX:+UseSerialGC",
            "-Djava.awt.headless=true",
            *shared,
            *self.jvm_options,
            f"-Dlog4j.configuration=file:{self.data_dir / 'log4j.properties'}",
            "-cp",
            classpath,
            "kafka.Kafka",
            str(config),
        ]
        in_main_thread = threading.current_thread() is threading.main_thread()
        with open(self.broker_log, "ab") as out:
            self._process = subprocess.Popen(
                command,
                stdout=out,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                preexec_fn=_die_with_parent if in_main_thread else None,
            )
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
        self._class_archive = ClassArchive(lib, java)
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
        config.write_text(
            server_properties(
                port=self.endpoints.port,
                controller_port=self.endpoints.controller_port,
                log_dir=self.data_dir / "logs",
                sasl_port=self.sasl_port,
            )
        )
        (self.data_dir / "log4j.properties").write_text(LOG4J_PROPERTIES)
        return config

    def _format_storage(self, java: str, classpath: str, config: Path) -> None:
        cluster_id = _kafka_uuid()
        archive = class_archive_path(Path(classpath.rstrip("*")), java)
        shared = [f"-XX:SharedArchiveFile={archive}"] if self.class_sharing and archive.is_file() else []
        command = [
            java,
            "-Xmx256m",
            *shared,
            f"-Dlog4j.configuration=file:{self.data_dir / 'log4j.properties'}",
            "-cp",
            classpath,
            "kafka.tools.StorageTool",
            "format",
            "-t",
            cluster_id,
            "-c",
            str(config),
        ]
        for name, password in self.scram_users.items():
            command += ["--add-scram", f"{SCRAM}=[name={name},password={password}]"]
        result = subprocess.run(command, capture_output=True, text=True, check=False)
        if result.returncode != 0:
            raise KafkaUnavailable(
                f"formatting Kafka storage in {self.data_dir} failed (exit {result.returncode}):\n"
                f"{result.stdout[-2000:]}{result.stderr[-2000:]}"
            )

    def _wait_until_answering(self) -> None:
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process is None or self._process.poll() is not None:
                raise KafkaUnavailable(f"the Kafka broker exited during start-up; its output:\n{self._log_tail()}")
            if accepts_connections(self.endpoints.port) and _answers_metadata(self.bootstrap):
                return
            time.sleep(0.3)
        raise KafkaUnavailable(
            f"the Kafka broker did not answer on {self.bootstrap} within "
            f"{self.start_timeout:.0f} s; its output:\n{self._log_tail()}"
        )

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
        admin = KafkaAdminClient(
            bootstrap_servers=bootstrap,
            client_id="mosaic-dev-probe",
            bootstrap_timeout_ms=5000,
            request_timeout_ms=5000,
        )
    except Exception:
        return False
    try:
        return bool(admin.describe_cluster().get("brokers"))
    except Exception:
        return False
    finally:
        admin.close()
