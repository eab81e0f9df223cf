"""The deployment files parse and match their schemas: compose-spec and the Kubernetes API."""

from __future__ import annotations

import http.server
import re
import shutil
import socket
import ssl
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import ClassVar

import httpx
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


def _nginx_locations(text: str) -> dict[str, str]:
    """`location <match> { body }` blocks of the TLS server (the shipped file has no nesting)."""
    tls = text.split("listen 443", 1)[1]
    return {
        m.group(1).strip(): m.group(2) for m in re.finditer(r"location\s+([^{]+)\{([^}]*)\}", tls)
    }


def test_nginx_conf_denies_metrics_before_proxying() -> None:
    locations = _nginx_locations((DEPLOY / "nginx.conf").read_text())
    # ^~ : a prefix match that also beats regex locations, so nothing later can proxy it.
    assert "deny all;" in locations["^~ /metrics"]
    assert "proxy_pass" not in locations["^~ /metrics"]


def test_ingress_routes_metrics_nowhere() -> None:
    ingress = yaml.safe_load((DEPLOY / "kubernetes" / "ingress.yaml").read_text())
    paths = {p["path"]: p for rule in ingress["spec"]["rules"] for p in rule["http"]["paths"]}
    metrics = paths["/metrics"]
    assert metrics["pathType"] in ("Prefix", "Exact")
    target = metrics["backend"]["service"]["name"]
    assert target != paths["/"]["backend"]["service"]["name"]
    services = {
        doc["metadata"]["name"]: doc
        for p in MANIFESTS
        for doc in yaml.safe_load_all(p.read_text())
        if doc and doc["kind"] == "Service"
    }
    # The target exists (the Ingress is valid) and selects no pod, so it has no endpoints.
    assert "selector" not in services[target]["spec"]
    assert not any(
        doc["kind"] == "Endpoints" or doc["kind"] == "EndpointSlice"
        for p in MANIFESTS
        for doc in yaml.safe_load_all(p.read_text())
    )


class _Upstream(http.server.BaseHTTPRequestHandler):
    seen: ClassVar[list[str]] = []

    def do_GET(self) -> None:
        self.seen.append(self.path)
        body = b"app"
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.skipif(shutil.which("nginx") is None, reason="nginx is not installed")
def test_shipped_nginx_conf_runs_and_refuses_metrics(tmp_path: Path) -> None:
    # The real file, run by a real nginx: only the upstream address, ports and certificate
    # paths are swapped for local ones.
    upstream = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Upstream)
    threading.Thread(target=upstream.serve_forever, daemon=True).start()
    http_port, https_port = _free_port(), _free_port()
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(tmp_path / "tls.key"), "-out", str(tmp_path / "tls.crt")),
        ],
        check=True,
        capture_output=True,
    )
    conf = (DEPLOY / "nginx.conf").read_text()
    conf = conf.replace("server app:8000;", f"server 127.0.0.1:{upstream.server_port};")
    conf = conf.replace("listen 80;", f"listen 127.0.0.1:{http_port};")
    conf = conf.replace("listen 443 ssl;", f"listen 127.0.0.1:{https_port} ssl;")
    conf = conf.replace("/etc/nginx/tls/", f"{tmp_path}/")
    version = subprocess.run(["nginx", "-v"], capture_output=True, text=True).stderr
    found = re.search(r"nginx/(\d+)\.(\d+)\.(\d+)", version)
    assert found
    if tuple(map(int, found.groups())) < (1, 25, 1):  # `http2 on;` is newer than this nginx
        conf = conf.replace("    http2 on;\n", "")
    (tmp_path / "site.conf").write_text(conf)
    temp = " ".join(
        f"{kind}_temp_path {tmp_path}/{kind};" for kind in ("client_body", "proxy", "fastcgi")
    )
    (tmp_path / "nginx.conf").write_text(
        f"worker_processes 1;\nevents {{}}\nhttp {{ access_log off; {temp} "
        f"uwsgi_temp_path {tmp_path}/uwsgi; scgi_temp_path {tmp_path}/scgi; "
        f"include {tmp_path}/site.conf; }}\n"
    )
    args = ["nginx", "-p", str(tmp_path), "-e", str(tmp_path / "error.log")]
    args += ["-c", str(tmp_path / "nginx.conf"), "-g", f"pid {tmp_path}/nginx.pid; daemon off;"]
    checked = subprocess.run([*args, "-t"], capture_output=True, text=True, check=False)
    assert checked.returncode == 0, checked.stderr
    server = subprocess.Popen(args, stderr=subprocess.DEVNULL)
    trusted = ssl.create_default_context(cafile=str(tmp_path / "tls.crt"))
    try:
        base = f"https://127.0.0.1:{https_port}"
        for _ in range(100):
            try:
                httpx.get(base + "/", verify=trusted, timeout=1)
                break
            except httpx.TransportError:
                time.sleep(0.05)
        assert httpx.get(base + "/bodies", verify=trusted).status_code == 200
        for path in ("/metrics", "/metrics/", "//metrics", "/%6Detrics", "/metrics?x=1"):
            assert httpx.get(base + path, verify=trusted).status_code == 403, path
        assert not [p for p in _Upstream.seen if "metrics" in p.lower() or "%6d" in p.lower()]
    finally:
        server.terminate()
        server.wait(timeout=10)
        upstream.shutdown()
        upstream.server_close()
