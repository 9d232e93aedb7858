"""The platform's standard client, ``tritonclient[http]``, against a live server: JSON and
binary tensors, one customer and batches of 10,000, and the errors it surfaces."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest
import tritonclient.http as triton
from tritonclient.utils import InferenceServerException

from tests.conftest import SAMPLES, SEGMENT_NAMES
from tests.ship.service import get

pytestmark = pytest.mark.slow

MODEL = "customer-segmentation"
TEXT_FIELDS = ("CustomerID", "Gender", "City", "DiscountUsage", "PreferredShoppingTime")
INT_FIELDS = ("Age", "MonthlyPurchases")
OUTPUTS = ("cluster", "confidence_score", "segment_name")


@pytest.fixture(scope="module")
def server(live_url: str) -> Iterator[tuple[str, triton.InferenceServerClient]]:
    client = triton.InferenceServerClient(live_url.removeprefix("http://"), network_timeout=60.0)
    try:
        yield live_url, client
    finally:
        client.close()


def columns(customers: list[dict[str, Any]]) -> dict[str, np.ndarray]:
    """Each field's values as the NumPy array a client holds."""
    return {field: np.array([c[field] for c in customers],
                            dtype=object if field in TEXT_FIELDS
                            else np.int64 if field in INT_FIELDS else np.float64)
            for field in customers[0]}


def inputs(data: dict[str, np.ndarray], binary: bool) -> list[triton.InferInput]:
    tensors = []
    for field, values in data.items():
        datatype = "BYTES" if values.dtype == object else "INT64" if values.dtype == np.int64 else "FP64"
        tensor = triton.InferInput(field, list(values.shape), datatype)
        tensor.set_data_from_numpy(values, binary_data=binary)
        tensors.append(tensor)
    return tensors


def random_customers(rng: np.random.Generator, count: int) -> list[dict[str, Any]]:
    return [{
        "CustomerID": f"R{i}", "Age": int(rng.integers(18, 80)),
        "Gender": str(rng.choice(["M", "F"])), "City": str(rng.choice(["Mumbai", "Delhi", "Pune"])),
        "AnnualIncome": float(rng.uniform(1e5, 2e6)), "TotalSpent": float(rng.uniform(1e4, 9e5)),
        "MonthlyPurchases": int(rng.integers(0, 25)), "AvgOrderValue": float(rng.uniform(300, 12e3)),
        "AppTimeMinutes": float(rng.uniform(0, 180)),
        "DiscountUsage": str(rng.choice(["Low", "Medium", "High"])),
        "PreferredShoppingTime": str(rng.choice(["Day", "Night"])),
    } for i in range(count)]


def test_the_client_sees_a_live_ready_server_and_model(server: tuple[str, Any]) -> None:
    _, client = server
    assert client.is_server_live() and client.is_server_ready()
    assert client.is_model_ready(MODEL) and client.is_model_ready(MODEL, "1.0.0")
    assert not client.is_model_ready(MODEL, "0.0.1")
    assert "binary_tensor_data" in client.get_server_metadata()["extensions"]
    assert len(client.get_model_metadata(MODEL)["inputs"]) == 11


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
@pytest.mark.parametrize("sample", list(SAMPLES))
def test_one_customer_gets_its_segment(server: tuple[str, Any], binary: bool, sample: str) -> None:
    _, client = server
    fields, segment = SAMPLES[sample]
    result = client.infer(MODEL, inputs(columns([{"CustomerID": "C1", **fields}]), binary),
                          outputs=[triton.InferRequestedOutput(o, binary_data=binary) for o in OUTPUTS])
    assert result.as_numpy("cluster").tolist() == [segment]
    name = result.as_numpy("segment_name")[0]
    assert (name.decode() if isinstance(name, bytes) else name) == SEGMENT_NAMES[segment]


@pytest.mark.parametrize("binary", [True, False], ids=["binary", "json"])
def test_a_batch_of_10000_answers_as_predict_batch(
    server: tuple[str, Any], rng: np.random.Generator, binary: bool,
) -> None:
    base, client = server
    customers = random_customers(rng, 10_000)
    outputs = [triton.InferRequestedOutput(o, binary_data=binary) for o in OUTPUTS]
    result = client.infer(MODEL, inputs(columns(customers), binary), outputs=outputs)
    status, body = get(f"{base}/predict/batch", json.dumps(customers).encode(), timeout=60.0)
    assert status == 200
    predictions = json.loads(body)["predictions"]
    assert result.as_numpy("cluster").tolist() == [p["cluster"] for p in predictions]
    assert result.as_numpy("confidence_score").tolist() == [p["confidence_score"] for p in predictions]
    names = [n.decode() if isinstance(n, bytes) else n for n in result.as_numpy("segment_name")]
    assert names == [p["segment_name"] for p in predictions]


def test_the_default_request_gets_binary_outputs(server: tuple[str, Any]) -> None:
    _, client = server
    fields, segment = SAMPLES["readme"]
    result = client.infer(MODEL, inputs(columns([{"CustomerID": "C1", **fields}]), True))
    assert all("binary_data_size" in o["parameters"] for o in result.get_response()["outputs"])
    assert result.as_numpy("cluster").tolist() == [segment]


def test_a_refused_value_reaches_the_client_as_400_naming_input_and_index(
    server: tuple[str, Any], rng: np.random.Generator,
) -> None:
    _, client = server
    customers = random_customers(rng, 5)
    customers[3]["Age"] = 130
    with pytest.raises(InferenceServerException) as raised:
        client.infer(MODEL, inputs(columns(customers), True))
    assert raised.value.status() == "400"
    assert "input 'Age' index 3" in raised.value.message()


def test_another_model_reaches_the_client_as_404(server: tuple[str, Any]) -> None:
    _, client = server
    fields, _ = SAMPLES["readme"]
    with pytest.raises(InferenceServerException) as raised:
        client.infer("other-model", inputs(columns([{"CustomerID": "C1", **fields}]), False))
    assert raised.value.status() == "404"


def test_a_compressed_request_is_refused_with_415(server: tuple[str, Any]) -> None:
    _, client = server
    fields, _ = SAMPLES["readme"]
    with pytest.raises(InferenceServerException) as raised:
        client.infer(MODEL, inputs(columns([{"CustomerID": "C1", **fields}]), True),
                     request_compression_algorithm="gzip")
    assert raised.value.status() == "415"
    assert "Content-Encoding 'gzip' is not supported" in raised.value.message()
