"""The deployment files parse and match their schemas: compose-spec and the Kubernetes API."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

DEPLOY = Path(__file__).resolve().parents[3] / "deploy"
MANIFESTS = sorted((DEPLOY / "kubernetes").glob("*.yaml"))


def test_compose_file_matches_the_compose_spec() -> None:
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "check_jsonschema",
            "--builtin-schema",
            "vendor.compose-spec",
            str(DEPLOY / "compose.yaml"),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_kubernetes_manifest_is_valid(path: Path) -> None:
    for doc in yaml.safe_load_all(path.read_text()):
        kubernetes_validate.validate(doc, "1.30.0", strict=True)


def test_app_has_probes_resources_and_runs_as_non_root() -> None:
    deployment = yaml.safe_load((DEPLOY / "kubernetes" / "app-deployment.yaml").read_text())
    pod = deployment["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert container["readinessProbe"]["httpGet"]["path"] == "/readyz"
    assert container["livenessProbe"]["httpGet"]["path"] == "/healthz"
    assert container["resources"]["requests"]
    assert pod["securityContext"]["runAsNonRoot"] is True
    kinds = {yaml.safe_load(p.read_text())["kind"] for p in MANIFESTS}
    assert {"Deployment", "Service", "Ingress", "Job", "HorizontalPodAutoscaler"} <= kinds
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert "USER marketplace" in dockerfile
    assert "HEALTHCHECK" in dockerfile


def test_worker_liveness_checks_the_heartbeat_it_writes() -> None:
    deployment = yaml.safe_load((DEPLOY / "kubernetes" / "worker-deployment.yaml").read_text())
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value") for e in container["env"]}
    assert env["MARKETPLACE_WORKER_HEARTBEAT"]
    assert container["livenessProbe"]["exec"]["command"][:2] == ["marketplace", "worker-alive"]
    compose = yaml.safe_load((DEPLOY / "compose.yaml").read_text())
    worker = compose["services"]["worker"]
    assert worker["environment"]["MARKETPLACE_WORKER_HEARTBEAT"]
    assert worker["healthcheck"]["test"][1:3] == ["marketplace", "worker-alive"]


def test_production_processes_are_recycled() -> None:
    # Without a request limit each app process creeps up by allocator fragmentation
    # (bench/results/heap_soak.md); the image and the Kubernetes config set a limit, and the
    # image renews the worker too.
    config = yaml.safe_load((DEPLOY / "kubernetes" / "configmap.yaml").read_text())["data"]
    assert int(config["MARKETPLACE_MAX_REQUESTS"]) > 0
    dockerfile = (DEPLOY / "Dockerfile").read_text()
    assert re.search(r"MARKETPLACE_MAX_REQUESTS=[1-9]\d*", dockerfile)
    assert re.search(r"MARKETPLACE_WORKER_RENEW_SECONDS=[1-9]\d*", dockerfile)
