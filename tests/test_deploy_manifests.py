"""The deploy artefacts render and validate without a cluster or a Docker engine.

Kubernetes: every overlay renders with `kubectl kustomize`; core kinds validate against the
bundled Kubernetes JSON schemas (kubernetes-validate, strict); KEDA and Strimzi resources are
checked structurally; topics match the registry. Compose: `docker-compose config` when the
binary is there, and always a structural check of the file. Dockerfile: its shape.
"""

from __future__ import annotations

import importlib.util
import json
import re
import shutil
import subprocess
import sys
import tomllib
from functools import cache
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml

from mosaic_events.topics import DLQ_RETENTION_MS, TOPICS
from mosaic_runtime.settings import ServiceSettings

ROOT = Path(__file__).resolve().parents[1]
K8S = ROOT / "deploy/k8s"
OVERLAYS = sorted(p.name for p in (K8S / "overlays").iterdir() if (p / "kustomization.yaml").is_file())
SERVICES = ("evidence", "mastery", "scheduling", "notify", "analytics")
KUBERNETES_VERSIONS = ("1.29.0", kubernetes_validate.latest_version())
CRD_GROUPS = ("keda.sh/", "kafka.strimzi.io/")
Resource = dict[str, Any]


@cache
def render(overlay: str) -> tuple[Resource, ...]:
    if kubectl := shutil.which("kubectl"):
        command = [kubectl, "kustomize"]
    elif kustomize := shutil.which("kustomize"):
        command = [kustomize, "build"]
    else:
        pytest.fail(
            "rendering deploy/k8s needs kubectl 1.29+ (`kubectl kustomize`) or kustomize v5 "
            "(`go install sigs.k8s.io/kustomize/kustomize/v5@v5.5.0`)",
            pytrace=False,
        )
    done = subprocess.run([*command, str(K8S / "overlays" / overlay)], capture_output=True, text=True)
    assert done.returncode == 0, f"{' '.join(command)} overlays/{overlay} failed:\n{done.stderr}"
    return tuple(d for d in yaml.safe_load_all(done.stdout) if d)


def of_kind(resources: tuple[Resource, ...], kind: str) -> list[Resource]:
    return [r for r in resources if r["kind"] == kind]


def named(resources: tuple[Resource, ...], kind: str) -> dict[str, Resource]:
    return {r["metadata"]["name"]: r for r in of_kind(resources, kind)}


def schema_errors(resource: Resource, version: str) -> list[str]:
    try:
        kubernetes_validate.validate(resource, version, strict=True)
    except kubernetes_validate.ValidationError as exc:
        return [f"{resource['kind']}/{resource['metadata']['name']}: {'.'.join(map(str, exc.path))}: {exc.message}"]
    return []


# --- Kubernetes ---------------------------------------------------------------------------


def test_there_is_a_dev_and_a_production_overlay() -> None:
    assert {"dev", "production"} <= set(OVERLAYS)


@pytest.mark.parametrize("overlay", OVERLAYS)
@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
def test_every_core_resource_validates_against_the_kubernetes_schemas(overlay: str, version: str) -> None:
    core = [r for r in render(overlay) if not r["apiVersion"].startswith(CRD_GROUPS)]
    assert len(core) > 20
    errors = [e for r in core for e in schema_errors(r, version)]
    assert not errors, "\n".join(errors)


def test_the_schema_check_catches_a_broken_manifest() -> None:
    deployment = of_kind(render("dev"), "Deployment")[0]
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two", "replicaz": 1}}
    assert schema_errors(broken, KUBERNETES_VERSIONS[-1])


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_has_its_deployment_service_config_budget_and_migration(overlay: str) -> None:
    resources = render(overlay)
    for svc in SERVICES:
        app = f"mosaic-{svc}"
        assert app in named(resources, "Deployment")
        assert app in named(resources, "Service")
        assert app in named(resources, "PodDisruptionBudget")
        assert f"{app}-migrate" in named(resources, "Job")
        assert any(n.startswith(app) for n in named(resources, "ConfigMap"))


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_deployments_are_probed_limited_unprivileged_and_drain_gracefully(overlay: str) -> None:
    uvicorn_grace = int(re.search(r"--timeout-graceful-shutdown (\d+)", dockerfile()).group(1))
    chassis_grace = ServiceSettings.model_fields["shutdown_grace_seconds"].default
    for deployment in of_kind(render(overlay), "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        (container,) = pod["containers"]
        assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
        assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
        assert {"cpu", "memory"} <= set(container["resources"]["requests"])
        assert {"cpu", "memory"} <= set(container["resources"]["limits"])
        assert pod["securityContext"]["runAsNonRoot"] is True and pod["securityContext"]["runAsUser"] != 0
        assert container["securityContext"]["allowPrivilegeEscalation"] is False
        pre_stop = int(container["lifecycle"]["preStop"]["exec"]["command"][-1])
        assert pod["terminationGracePeriodSeconds"] > pre_stop + max(uvicorn_grace, chassis_grace)
        assert container["ports"][0]["containerPort"] == 8080


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_every_reference_resolves_within_the_render(overlay: str) -> None:
    """Services, budgets and scalers select real pods; env comes from ConfigMaps that exist."""
    resources = render(overlay)
    deployments = named(resources, "Deployment")
    pod_labels = [d["spec"]["template"]["metadata"]["labels"] for d in deployments.values()]
    for kind, path in (("Service", ("spec", "selector")), ("PodDisruptionBudget", ("spec", "selector", "matchLabels"))):
        for resource in of_kind(resources, kind):
            wanted = resource[path[0]][path[1]] if len(path) == 2 else resource["spec"]["selector"]["matchLabels"]
            assert any(wanted.items() <= labels.items() for labels in pod_labels), resource["metadata"]["name"]
    for scaler in of_kind(resources, "HorizontalPodAutoscaler") + of_kind(resources, "ScaledObject"):
        assert scaler["spec"]["scaleTargetRef"]["name"] in deployments
    config_maps, secrets = named(resources, "ConfigMap"), named(resources, "Secret")
    for workload in [*deployments.values(), *of_kind(resources, "Job")]:
        for source in workload["spec"]["template"]["spec"]["containers"][0]["envFrom"]:
            if "configMapRef" in source:
                assert source["configMapRef"]["name"] in config_maps
            elif overlay == "dev":
                assert source["secretRef"]["name"] in secrets


def test_production_secrets_are_created_by_the_platform_team_and_documented() -> None:
    readme = (ROOT / "deploy/README.md").read_text()
    resources = render("production")
    assert not of_kind(resources, "Secret"), "production must not ship secrets"
    for deployment in of_kind(resources, "Deployment"):
        refs = [
            s["secretRef"]["name"]
            for s in deployment["spec"]["template"]["spec"]["containers"][0]["envFrom"]
            if "secretRef" in s
        ]
        assert refs and all(f"`{ref}`" in readme for ref in refs)
    for svc in SERVICES:
        assert f"MOSAIC_{svc.upper()}_DATABASE_URL" in readme


def test_production_scales_on_lag_with_keda_and_never_with_a_competing_hpa() -> None:
    resources = render("production")
    scaled = {s["spec"]["scaleTargetRef"]["name"] for s in of_kind(resources, "ScaledObject")}
    assert scaled == {f"mosaic-{svc}" for svc in SERVICES}
    assert not scaled & {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(resources, "HorizontalPodAutoscaler")}
    assert {h["spec"]["scaleTargetRef"]["name"] for h in of_kind(render("dev"), "HorizontalPodAutoscaler")} == {
        f"mosaic-{svc}" for svc in SERVICES
    }


def test_keda_scaled_objects_are_well_formed_and_capped_by_partitions() -> None:
    partitions = {t.name: t.partitions for t in TOPICS}
    for scaler in of_kind(render("production"), "ScaledObject"):
        assert scaler["apiVersion"] == "keda.sh/v1alpha1"
        spec = scaler["spec"]
        assert spec["scaleTargetRef"]["kind"] == "Deployment"
        assert 1 <= spec["minReplicaCount"] <= spec["maxReplicaCount"]
        kafka = [t for t in spec["triggers"] if t["type"] == "kafka"]
        assert kafka and {t["type"] for t in spec["triggers"]} <= {"kafka", "cpu"}
        for trigger in kafka:
            meta = trigger["metadata"]
            assert meta["bootstrapServers"] and meta["consumerGroup"] == scaler["metadata"]["name"]
            assert meta["topic"] in partitions
            assert int(meta["lagThreshold"]) > 0 and meta["allowIdleConsumers"] == "false"
            assert all(isinstance(v, str) for v in meta.values()), "KEDA trigger metadata values must be strings"
        assert spec["maxReplicaCount"] == max(partitions[t["metadata"]["topic"]] for t in kafka)


def test_lag_thresholds_come_from_the_district_load_figures_committed_with_them() -> None:
    """generate.py's CPU and records per evidence are those of the harness run and rate it names, and each
    busy topic's lagThreshold is what a replica folds in CATCH_UP_SECONDS at the CPU target."""
    g = load_generator()
    measured = json.loads((ROOT / "bench/results" / f"{g.MEASURED}.json").read_text())
    [measured_rate] = [r for r in measured["rates"] if r["rate"] == g.MEASURED_RATE and r["drained"]]
    measured_cpu = {s: measured_rate["cpu_seconds_per_1000_evidence"][s] for s in g.CPU_SECONDS_PER_1000_EVIDENCE}
    assert measured_cpu == g.CPU_SECONDS_PER_1000_EVIDENCE
    ratio = measured_rate["mastery_changed_events"] / measured_rate["accepted_evidence"]
    assert g.RECORDS_PER_EVIDENCE["mosaic.mastery.v1"] == round(ratio, 1)
    thresholds = {
        (s["metadata"]["name"], t["metadata"]["topic"]): int(t["metadata"]["lagThreshold"])
        for s in of_kind(render("production"), "ScaledObject")
        for t in s["spec"]["triggers"]
        if t["type"] == "kafka"
    }
    for (app, topic), threshold in thresholds.items():
        service = app.removeprefix("mosaic-")
        cpu, records = g.CPU_SECONDS_PER_1000_EVIDENCE.get(service), g.RECORDS_PER_EVIDENCE.get(topic)
        if cpu and records:
            folded_per_second = g.CPU_TARGET * 1000 / cpu * records
            assert abs(threshold - folded_per_second * g.CATCH_UP_SECONDS) <= 10, (app, topic, threshold)
        else:
            assert threshold == g.QUIET_TOPIC_LAG_THRESHOLD, (app, topic)
    assert thresholds[("mosaic-mastery", "mosaic.evidence.v1")] != g.QUIET_TOPIC_LAG_THRESHOLD


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_kafka_topics_match_the_registry(overlay: str) -> None:
    expected = {t.name: (t.partitions, t.retention_ms) for t in TOPICS}
    expected |= {t.dlq: (t.partitions, DLQ_RETENTION_MS) for t in TOPICS}
    topics = of_kind(render(overlay), "KafkaTopic")
    found = {}
    for topic in topics:
        assert topic["apiVersion"] == "kafka.strimzi.io/v1beta2"
        assert topic["metadata"]["labels"]["strimzi.io/cluster"]
        assert re.fullmatch(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?", topic["metadata"]["name"])
        spec = topic["spec"]
        assert isinstance(spec["replicas"], int) and spec["replicas"] >= 1
        assert int(spec["config"]["min.insync.replicas"]) <= spec["replicas"]
        assert all(isinstance(v, str) for v in spec["config"].values())
        found[spec["topicName"]] = (spec["partitions"], int(spec["config"]["retention.ms"]))
    assert found == expected


# Which service owns (writes) which catalog topic: the ACLs must let each write these and nothing else
# but the dead-letter topics of what it reads.
OWN_TOPICS = {
    "evidence": {"mosaic.evidence.v1", "mosaic.reference.v1"},
    "mastery": {"mosaic.mastery.v1", "mosaic.regroup.v1"},
    "scheduling": {"mosaic.schedule.v1"},
    "notify": {"mosaic.notify.v1"},
    "analytics": {"mosaic.analytics.v1"},
}


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_each_service_is_a_kafka_user_that_writes_only_its_own_topics(overlay: str) -> None:
    resources = render(overlay)
    users = named(resources, "KafkaUser")
    assert set(users) == {f"mosaic-{svc}-kafka" for svc in SERVICES}
    written_by: dict[str, list[str]] = {}
    for svc in SERVICES:
        user = users[f"mosaic-{svc}-kafka"]
        assert user["apiVersion"] == "kafka.strimzi.io/v1beta2" and user["metadata"]["labels"]["strimzi.io/cluster"]
        assert user["spec"]["authentication"] == {"type": "scram-sha-512"}
        acls = user["spec"]["authorization"]["acls"]
        assert all(a["resource"]["patternType"] == "literal" for a in acls), "no wildcard or prefix ACLs"
        topics = [a for a in acls if a["resource"]["type"] == "topic"]
        writes = {a["resource"]["name"] for a in topics if "Write" in a["operations"]}
        reads = {a["resource"]["name"] for a in topics if "Read" in a["operations"]}
        assert writes - {f"{t}.dlq" for t in reads} == OWN_TOPICS[svc], svc
        assert {a["resource"]["name"] for a in acls if a["resource"]["type"] == "group"} == {f"mosaic-{svc}"}
        for topic in writes - {f"{t}.dlq" for t in reads}:
            written_by.setdefault(topic, []).append(svc)
        deployment = named(resources, "Deployment")[f"mosaic-{svc}"]
        env = deployment["spec"]["template"]["spec"]["containers"][0]["env"]
        assert {
            "name": f"MOSAIC_{svc.upper()}_KAFKA_SASL_PASSWORD",
            "valueFrom": {"secretKeyRef": {"name": f"mosaic-{svc}-kafka", "key": "password"}},
        } in env
    assert all(len(owners) == 1 for owners in written_by.values()), written_by
    common = named(resources, "ConfigMap")
    settings = next(c["data"] for name, c in common.items() if name.startswith("mosaic-common"))
    assert settings["KAFKA_SECURITY_PROTOCOL"] == "SASL_SSL"


@pytest.mark.parametrize("overlay", OVERLAYS)
def test_network_policies_deny_by_default_and_cover_every_service(overlay: str) -> None:
    resources = render(overlay)
    policies = of_kind(resources, "NetworkPolicy")
    [deny] = [p for p in policies if p["spec"]["podSelector"] == {}]
    assert set(deny["spec"]["policyTypes"]) == {"Ingress", "Egress"} and "ingress" not in deny["spec"]
    for deployment in of_kind(resources, "Deployment"):
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        mine = [
            p
            for p in policies
            if p["spec"]["podSelector"] and p["spec"]["podSelector"]["matchLabels"].items() <= pod_labels.items()
        ]
        assert len(mine) == 1, deployment["metadata"]["name"]
        ports = {port["port"] for rule in mine[0]["spec"]["egress"] for port in rule.get("ports", [])}
        assert {53, 9093, 5432} <= ports
        assert [p["port"] for rule in mine[0]["spec"]["ingress"] for p in rule["ports"]] == [8080]


@cache
def load_generator() -> Any:
    spec = importlib.util.spec_from_file_location("mosaic_k8s_generate", K8S / "generate.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # its dataclasses look their module up by name
    spec.loader.exec_module(module)
    return module


def test_the_checked_in_base_is_what_the_generator_writes() -> None:
    generator = load_generator()
    stale = [p for p, text in generator.rendered().items() if (K8S / p).read_text() != text]
    assert not stale, f"run `uv run python deploy/k8s/generate.py` and commit: {stale}"


# --- docker compose and the Dockerfile ----------------------------------------------------


def compose_problems(compose: dict[str, Any], root: Path) -> list[str]:
    """What `docker compose config` would refuse, and what would fail at `up`, checked without an engine."""
    problems = []
    services = compose.get("services") or {}
    volumes = set(compose.get("volumes") or {})
    for name, svc in services.items():
        if not svc.get("image") and not svc.get("build"):
            problems.append(f"{name}: neither image nor build")
        if "build" in svc:
            dockerfile_path = root / svc["build"].get("context", ".") / svc["build"].get("dockerfile", "Dockerfile")
            if not dockerfile_path.is_file():
                problems.append(f"{name}: build dockerfile {dockerfile_path} does not exist")
        for dependency in svc.get("depends_on") or {}:
            if dependency not in services:
                problems.append(f"{name}: depends_on unknown service {dependency!r}")
        for mount in svc.get("volumes") or []:
            source = mount.split(":")[0]
            if source.startswith((".", "/")) and not (root / source).exists():
                problems.append(f"{name}: bind mount source {source} does not exist")
            elif not source.startswith((".", "/")) and source not in volumes:
                problems.append(f"{name}: named volume {source!r} is not declared")
    return problems


def compose_file() -> dict[str, Any]:
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def test_docker_compose_config_accepts_the_file() -> None:
    """Debian's docker-compose 1.29 validates without an engine (`apt-get install docker-compose`)."""
    binary = shutil.which("docker-compose")
    if binary is None:  # no binary: the structural test below still runs; this one checks the schema
        problems = compose_problems(compose_file(), ROOT)
        assert not problems, "\n".join(problems)
        return
    done = subprocess.run(
        [binary, "-f", str(ROOT / "docker-compose.yml"), "config", "-q"], capture_output=True, text=True, cwd=ROOT
    )
    assert done.returncode == 0, f"docker-compose config refused docker-compose.yml:\n{done.stderr}"


def test_compose_has_the_whole_stack_and_every_reference_resolves() -> None:
    compose = compose_file()
    services = compose["services"]
    assert services["kafka"]["image"] == "apache/kafka:3.9.1"
    assert services["postgres"]["image"].startswith("postgres:15")
    assert services["jaeger"]["image"].startswith("jaegertracing/all-in-one")
    assert services["mailpit"]["image"].startswith("axllent/mailpit")
    assert {"topics", "seed", *SERVICES} <= set(services)
    for port, svc in enumerate(SERVICES, start=8081):
        assert services[svc]["build"]["args"]["SERVICE"] == svc
        assert f"{port}:8080" in services[svc]["ports"]
        env = services[svc]["environment"]
        assert env[f"MOSAIC_{svc.upper()}_DATABASE_URL"].endswith(f"@postgres:5432/{svc}")
        assert env["KAFKA_BOOTSTRAP_SERVERS"] == "kafka:9092"
        assert env["OTEL_EXPORTER_OTLP_ENDPOINT"].startswith("http://jaeger:")
    assert not compose_problems(compose, ROOT)


def test_the_compose_check_catches_a_dangling_reference() -> None:
    compose = compose_file()
    compose["services"]["mastery"] = {**compose["services"]["mastery"], "depends_on": {"kafak": {}}}
    compose["services"]["ghost"] = {"command": ["true"]}
    assert compose_problems(compose, ROOT) == [
        "mastery: depends_on unknown service 'kafak'",
        "ghost: neither image nor build",
    ]


def test_postgres_init_creates_one_database_per_service() -> None:
    script = (ROOT / "deploy/docker/postgres-init.sql").read_text()
    for svc in SERVICES:
        assert f"CREATE DATABASE {svc} OWNER {svc};" in script


@cache
def dockerfile() -> str:
    return (ROOT / "deploy/docker/service.Dockerfile").read_text()


def test_the_dockerfile_is_multi_stage_slim_non_root_and_serves_on_8080() -> None:
    stages = re.findall(r"^FROM\s+(\S+)(?:\s+AS\s+(\S+))?", dockerfile(), flags=re.MULTILINE)
    assert len(stages) >= 3 and stages[-1][1] == "runtime"
    assert re.search(r"^ARG PYTHON_IMAGE=python:3\.11-slim", dockerfile(), flags=re.MULTILINE)
    final_stage = dockerfile().split("AS runtime", 1)[1]
    user = re.findall(r"^USER\s+(\S+)", final_stage, flags=re.MULTILINE)
    assert user and not user[-1].startswith(("root", "0"))
    assert "EXPOSE 8080" in final_stage
    assert 'uvicorn \\"mosaic_${MOSAIC_SERVICE}.main:app\\" --host 0.0.0.0 --port 8080' in final_stage
    assert "uv sync --frozen --no-dev" in dockerfile()
    assert "COPY --from=build" in final_stage and "/root/.cache" not in final_stage


@pytest.mark.parametrize("svc", SERVICES)
def test_each_service_provides_what_its_image_and_migration_job_run(svc: str) -> None:
    """The image runs `uvicorn mosaic_<svc>.main:app`; the migration Job runs `mosaic-<svc> migrate`."""
    package = ROOT / "services" / svc / "src" / f"mosaic_{svc}"
    main = package / "main.py"
    assert main.is_file(), f"{main.relative_to(ROOT)} is missing: the image starts mosaic_{svc}.main:app"
    assert re.search(r"^app\s*[:=]", main.read_text(), flags=re.MULTILINE), (
        f"{main.relative_to(ROOT)} defines no module-level `app` for uvicorn"
    )
    pyproject = tomllib.loads((ROOT / "services" / svc / "pyproject.toml").read_text())
    assert f"mosaic-{svc}" in pyproject.get("project", {}).get("scripts", {}), (
        f"services/{svc}/pyproject.toml has no `mosaic-{svc}` console script"
    )
    cli = package / "cli.py"
    assert cli.is_file() and re.search(r"def migrate\(|command\(\s*[\"']migrate[\"']", cli.read_text()), (
        f"{cli.relative_to(ROOT)} has no `migrate` command: the migration Job runs `mosaic-{svc} migrate`"
    )
