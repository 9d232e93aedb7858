"""The KServe InferenceService: the fields KServe requires, its pod valid for Kubernetes 1.30
(offline, strict), its probes on the Open Inference Protocol's health paths the app serves."""

from __future__ import annotations

import re
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
MANIFEST = ROOT / "deploy" / "kserve" / "inferenceservice.yaml"
DEPLOYMENT = ROOT / "deploy" / "kubernetes" / "deployment.yaml"
# Fields of a KServe predictor that are KServe's own (ComponentExtensionSpec); the rest is a PodSpec.
KSERVE_FIELDS = {"minReplicas", "maxReplicas", "scaleMetric", "scaleTarget", "containerConcurrency",
                 "timeout", "canaryTrafficPercent", "logger", "batcher", "labels", "annotations",
                 "deploymentStrategy"}
DNS_1035 = re.compile(r"^[a-z]([-a-z0-9]*[a-z0-9])?$")
Doc = dict[str, Any]


def _service() -> Doc:
    docs = [doc for doc in yaml.safe_load_all(MANIFEST.read_text()) if doc]
    assert len(docs) == 1, f"{MANIFEST.name}: expected one document, found {len(docs)}"
    doc: Doc = docs[0]
    return doc


def _container() -> Doc:
    containers = _service()["spec"]["predictor"]["containers"]
    assert len(containers) == 1, "a custom predictor is one container"
    container: Doc = containers[0]
    return container


@pytest.fixture(scope="module")
def client() -> Iterator[TestClient]:
    with TestClient(create_app(Settings()), raise_server_exceptions=True) as client:
        yield client


def test_an_inference_service_of_kserve_v1beta1() -> None:
    service = _service()
    assert service["apiVersion"] == "serving.kserve.io/v1beta1"
    assert service["kind"] == "InferenceService"
    name = service["metadata"]["name"]
    assert DNS_1035.match(name) and len(name) <= 63, f"{name!r} is not a DNS-1035 label"
    assert set(service["spec"]) == {"predictor"}


def test_the_predictor_is_a_custom_container_kserve_recognises() -> None:
    predictor = _service()["spec"]["predictor"]
    assert "model" not in predictor, "a custom predictor has containers, not a model"
    container = _container()
    assert container["name"] == "kserve-container"  # the container KServe routes to
    assert container["image"]
    assert len(container["ports"]) == 1, "KServe (Knative) routes to exactly one port"
    assert container["ports"][0]["name"] in ("http1", "h2c")
    assert 1 <= predictor["minReplicas"] <= predictor["maxReplicas"]


def test_the_predictor_pod_is_valid_for_kubernetes() -> None:
    predictor = _service()["spec"]["predictor"]
    pod = {"apiVersion": "v1", "kind": "Pod", "metadata": {"name": "predictor"},
           "spec": {key: value for key, value in predictor.items() if key not in KSERVE_FIELDS}}
    try:
        kubernetes_validate.validate(pod, "1.30", strict=True)
    except kubernetes_validate.ValidationError as exc:
        pytest.fail(f"{MANIFEST.name}: {exc.message} at spec.predictor.{'.'.join(map(str, exc.path))}")


def test_probes_are_the_protocol_health_paths_the_app_serves(client: TestClient) -> None:
    container = _container()
    assert container["livenessProbe"]["httpGet"]["path"] == "/v2/health/live"
    assert container["readinessProbe"]["httpGet"]["path"] == "/v2/health/ready"
    for kind in ("livenessProbe", "readinessProbe"):
        probe = container[kind]["httpGet"]
        assert probe["port"] == container["ports"][0]["containerPort"]
        answer = client.get(probe["path"])
        assert answer.status_code == 200, f"{kind}: {answer.status_code} {answer.text}"


def test_the_image_and_port_are_the_plain_deployments() -> None:
    deployment = yaml.safe_load(DEPLOYMENT.read_text())
    plain = deployment["spec"]["template"]["spec"]["containers"][0]
    container = _container()
    assert container["image"] == plain["image"]
    exposed = {int(item.arguments) for item in parse_dockerfile(ROOT / "Dockerfile")[-1].all("EXPOSE")}
    assert container["ports"][0]["containerPort"] in exposed


def test_the_environment_names_settings_the_service_reads() -> None:
    known = {variable for variable, _ in ENVIRONMENT.values()}
    for item in _container().get("env", []):
        assert item["name"] in known, f"{item['name']} is not a setting of the service"
