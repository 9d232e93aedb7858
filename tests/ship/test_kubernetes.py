"""The Kubernetes manifests: valid for 1.30 (offline, strict), and consistent with the app and image."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import yaml
from starlette.testclient import TestClient

from runtime.service.app import create_app
from runtime.service.settings import ENVIRONMENT, Settings
from tests.ship.dockerfile import parse_dockerfile

ROOT = Path(__file__).resolve().parents[2]
MANIFESTS = ROOT / "deploy" / "kubernetes"
KUBERNETES_VERSION = "1.30"
Doc = dict[str, Any]


def _documents() -> list[tuple[str, Doc]]:
    found = []
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            if doc:
                found.append((path.name, doc))
    return found


def _resources() -> list[tuple[str, Doc]]:
    return [(name, doc) for name, doc in _documents() if doc["kind"] != "Kustomization"]


def _one(kind: str) -> Doc:
    docs = [doc for _, doc in _resources() if doc["kind"] == kind]
    assert len(docs) == 1, f"expected one {kind}, found {len(docs)}"
    return docs[0]


def _container() -> Doc:
    containers = _one("Deployment")["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    container: Doc = containers[0]
    return container


def _container_port(container: Doc, port: int | str) -> int:
    """A probe's or Service's port (a number or a port name) as the container's number."""
    for item in container["ports"]:
        if port in (item["containerPort"], item.get("name")):
            return int(item["containerPort"])
    raise AssertionError(f"port {port!r} is not one of the container's ports")


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings()), raise_server_exceptions=True) as client:
        yield client


@pytest.mark.parametrize(("name", "doc"), _resources(),
                         ids=[f"{name}:{doc['kind']}" for name, doc in _resources()])
def test_manifest_is_valid(name: str, doc: Doc) -> None:
    try:
        kubernetes_validate.validate(doc, KUBERNETES_VERSION, strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{name}: {exc.message} at {'.'.join(map(str, exc.path))}")


def test_kinds_and_api_versions() -> None:
    kinds = {doc["kind"]: doc["apiVersion"] for _, doc in _resources()}
    assert kinds == {"Deployment": "apps/v1", "Service": "v1",
                     "HorizontalPodAutoscaler": "autoscaling/v2",
                     "PodDisruptionBudget": "policy/v1"}


def test_kustomization_lists_every_manifest() -> None:
    kustomization = [doc for _, doc in _documents() if doc["kind"] == "Kustomization"]
    assert len(kustomization) == 1
    listed = set(kustomization[0]["resources"])
    assert listed == {name for name, _ in _resources()}


def test_probes_ask_paths_the_app_serves(client: TestClient) -> None:
    container = _container()
    probes = {kind: container[kind] for kind in ("livenessProbe", "readinessProbe", "startupProbe")
              if kind in container}
    assert probes["livenessProbe"]["httpGet"]["path"] == "/health/live"
    assert probes["readinessProbe"]["httpGet"]["path"] == "/health/ready"
    for kind, probe in probes.items():
        response = client.get(probe["httpGet"]["path"])
        assert response.status_code == 200, f"{kind}: {response.status_code} {response.text}"


def test_prometheus_scrapes_the_metrics_the_app_serves(client: TestClient) -> None:
    annotations = _one("Deployment")["spec"]["template"]["metadata"]["annotations"]
    assert annotations["prometheus.io/scrape"] == "true"
    assert int(annotations["prometheus.io/port"]) == _container_port(_container(), "http")
    response = client.get(annotations["prometheus.io/path"])
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/plain")


def test_ports_agree_with_the_image_and_the_service() -> None:
    final = parse_dockerfile(ROOT / "Dockerfile")[-1]
    exposed = {int(item.arguments) for item in final.all("EXPOSE")}
    container = _container()
    assert {int(item["containerPort"]) for item in container["ports"]} == exposed
    for kind in ("livenessProbe", "readinessProbe", "startupProbe"):
        if kind in container:
            assert _container_port(container, container[kind]["httpGet"]["port"]) in exposed
    for port in _one("Service")["spec"]["ports"]:
        assert _container_port(container, port["targetPort"]) in exposed


def test_selectors_match_the_pods() -> None:
    deployment = _one("Deployment")
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selectors = {
        "Deployment": deployment["spec"]["selector"]["matchLabels"],
        "Service": _one("Service")["spec"]["selector"],
        "PodDisruptionBudget": _one("PodDisruptionBudget")["spec"]["selector"]["matchLabels"],
    }
    for kind, selector in selectors.items():
        assert selector.items() <= labels.items(), f"{kind} selector {selector} misses the pods"
    target = _one("HorizontalPodAutoscaler")["spec"]["scaleTargetRef"]
    assert (target["kind"], target["name"]) == ("Deployment", deployment["metadata"]["name"])
    hpa = _one("HorizontalPodAutoscaler")["spec"]
    budget = _one("PodDisruptionBudget")["spec"]
    assert hpa["minReplicas"] > budget["minAvailable"], "a lone pod could never be evicted"


def test_grace_period_covers_the_pre_stop_pause_and_in_flight_requests() -> None:
    pod = _one("Deployment")["spec"]["template"]["spec"]
    env = {item["name"]: item["value"] for item in _container().get("env", [])}
    known = {variable for variable, _ in ENVIRONMENT.values()}
    unknown = {name for name in env if name.startswith("SEGMENTATION_")} - known
    assert not unknown, f"the service reads no {sorted(unknown)}"
    settings = Settings.load(env)
    assert settings.grace_seconds == 20
    # The pod keeps serving while endpoints update, then gets SIGTERM.
    command = _container()["lifecycle"]["preStop"]["exec"]["command"]
    assert command[0] == "sleep"
    pause = float(command[1])
    assert pause >= 5
    # The kubelet kills at the end of the period: leave a margin for the process to exit.
    assert pod["terminationGracePeriodSeconds"] >= pause + settings.grace_seconds + 5


def test_runs_locked_down_as_the_image_user() -> None:
    pod = _one("Deployment")["spec"]["template"]["spec"]
    container = _container()
    user = parse_dockerfile(ROOT / "Dockerfile")[-1].last("USER")
    assert user is not None
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert pod["securityContext"]["runAsUser"] == int(user.arguments.split(":")[0])
    security = container["securityContext"]
    assert security["readOnlyRootFilesystem"] is True
    assert security["allowPrivilegeEscalation"] is False
    assert security["capabilities"]["drop"] == ["ALL"]
    mounts = {mount["mountPath"]: mount["name"] for mount in container["volumeMounts"]}
    volumes = {volume["name"]: volume for volume in pod["volumes"]}
    assert "emptyDir" in volumes[mounts["/tmp"]], "/tmp must be a writable emptyDir"
    resources = container["resources"]
    for key in ("cpu", "memory"):
        assert key in resources["requests"] and key in resources["limits"]
