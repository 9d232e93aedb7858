"""The Open Inference Protocol (KServe V2) REST endpoints: metadata, health, inference, errors."""

from __future__ import annotations

import json
import struct
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from starlette.testclient import TestClient

from tests.conftest import README_CUSTOMER, SAMPLES, SEGMENT_NAMES, make_client
from tests.service.v2_requests import (
    DATATYPES,
    FIELDS,
    INFER,
    binary_request,
    json_request,
    read_binary_response,
)

MODEL = "/v2/models/customer-segmentation"


def samples() -> list[dict[str, Any]]:
    return [{"CustomerID": f"S{i}", **fields} for i, (fields, _) in enumerate(SAMPLES.values())]


def test_server_metadata_lists_the_binary_extension(client: TestClient) -> None:
    answer = client.get("/v2")
    assert answer.status_code == 200
    assert answer.json() == {"name": "customer-segmentation", "version": "1.0.0",
                             "extensions": ["binary_tensor_data"]}


@pytest.mark.parametrize("path", ["/v2/health/live", "/v2/health/ready", f"{MODEL}/ready",
                                  f"{MODEL}/versions/1.0.0/ready"])
def test_health_and_readiness_answer_200_once_loaded(client: TestClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_readiness_is_503_and_inference_too_before_a_model_is_loaded() -> None:
    client = make_client()  # outside ``with``: the lifespan that loads the bundle never runs
    assert client.get("/v2/health/ready").json() == {"ready": False}
    assert client.get("/v2/health/ready").status_code == 503
    assert client.get("/v2/health/live").status_code == 200
    answer = client.post(INFER, json=json_request(samples()))
    assert answer.status_code == 503
    assert answer.json() == {"error": "no model is loaded yet"}


@pytest.mark.parametrize("path", [MODEL, f"{MODEL}/versions/1.0.0"])
def test_model_metadata_has_one_input_per_customer_field(client: TestClient, path: str) -> None:
    metadata = client.get(path).json()
    assert metadata["name"] == "customer-segmentation"
    assert metadata["versions"] == ["1.0.0"]
    assert [(i["name"], i["datatype"], i["shape"]) for i in metadata["inputs"]] == [
        (field, DATATYPES[field], [-1]) for field in FIELDS]
    assert [(o["name"], o["datatype"]) for o in metadata["outputs"]] == [
        ("cluster", "INT64"), ("confidence_score", "FP64"), ("segment_name", "BYTES")]


@pytest.mark.parametrize("path", ["/v2/models/other", "/v2/models/other/ready",
                                  f"{MODEL}/versions/9.9.9", f"{MODEL}/versions/9.9.9/ready"])
def test_another_model_or_version_is_404_in_the_protocol_shape(client: TestClient, path: str) -> None:
    answer = client.get(path)
    assert answer.status_code == 404
    assert list(answer.json()) == ["error"]


@pytest.mark.parametrize("path", ["/v2/models/other/infer", f"{MODEL}/versions/2.0.0/infer"])
def test_inference_on_another_model_or_version_is_404(client: TestClient, path: str) -> None:
    answer = client.post(path, json=json_request(samples()))
    assert answer.status_code == 404
    assert "is not served" in answer.json()["error"]


def test_json_inference_places_the_samples_as_predict_does(client: TestClient) -> None:
    answer = client.post(INFER, json=json_request(samples(), id="r-1"))
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/json"
    body = answer.json()
    assert (body["model_name"], body["model_version"], body["id"]) == (
        "customer-segmentation", "1.0.0", "r-1")
    outputs = {o["name"]: o for o in body["outputs"]}
    segments = [segment for _, segment in SAMPLES.values()]
    assert outputs["cluster"]["data"] == segments
    assert outputs["segment_name"]["data"] == [SEGMENT_NAMES[s] for s in segments]
    assert outputs["cluster"]["shape"] == [len(segments)]
    readme = client.post("/predict", json=README_CUSTOMER).json()
    assert outputs["confidence_score"]["data"][-1] == readme["confidence_score"]


def test_versioned_inference_answers_alike(client: TestClient) -> None:
    answer = client.post(f"{MODEL}/versions/1.0.0/infer", json=json_request(samples()))
    assert answer.status_code == 200


def test_binary_inference_answers_as_json_inference(client: TestClient) -> None:
    body, headers = binary_request(samples())
    answer = client.post(INFER, content=body, headers=headers)
    assert answer.status_code == 200
    assert answer.headers["content-type"] == "application/octet-stream"
    binary = read_binary_response(answer.content,
                                  int(answer.headers["inference-header-content-length"]))
    plain = client.post(INFER, json=json_request(samples())).json()
    assert binary == {o["name"]: o["data"] for o in plain["outputs"]}


@pytest.mark.parametrize("city", ["Bengaluru \u00fcn\u00efcode", "nul\0inside", "\U0001f600" * 64],
                         ids=["non-ascii", "nul", "256-bytes"])
def test_binary_text_of_any_bytes_reads_as_json_text(client: TestClient, city: str) -> None:
    customers = samples()
    customers[2]["City"] = city
    body, headers = binary_request(customers)
    answer = client.post(INFER, content=body, headers=headers)
    assert answer.status_code == 200, answer.text
    binary = read_binary_response(answer.content,
                                  int(answer.headers["inference-header-content-length"]))
    plain = client.post(INFER, json=json_request(customers)).json()
    assert binary == {o["name"]: o["data"] for o in plain["outputs"]}


def test_requested_outputs_come_in_order_each_json_or_binary(client: TestClient) -> None:
    body, headers = binary_request(samples(), binary_outputs=False, outputs=[
        {"name": "segment_name", "parameters": {"binary_data": True}}, {"name": "cluster"}])
    answer = client.post(INFER, content=body, headers=headers)
    length = int(answer.headers["inference-header-content-length"])
    header = json.loads(answer.content[:length])
    assert [o["name"] for o in header["outputs"]] == ["segment_name", "cluster"]
    assert "data" in header["outputs"][1] and "data" not in header["outputs"][0]
    values = read_binary_response(answer.content, length)
    assert values["segment_name"][0] == SEGMENT_NAMES[1]


def test_whole_numbers_may_come_as_int32_or_fp64(client: TestClient) -> None:
    request = json_request(samples())
    request["inputs"][1].update(datatype="FP64", data=[45.0, 35.0, 30.0, 28.0])
    request["inputs"][6]["datatype"] = "INT32"
    assert client.post(INFER, json=request).status_code == 200


def _error(client: TestClient, request: dict[str, Any], status: int = 400) -> str:
    answer = client.post(INFER, json=request)
    assert answer.status_code == status, answer.text
    body = answer.json()
    assert list(body) == ["error"]
    return str(body["error"])


@pytest.mark.parametrize(("field", "value", "words"), [
    ("Age", -1, "a whole number >= 0 and <= 120, got -1"),
    ("Age", 28.5, "a whole number"),
    ("AnnualIncome", 2e12, "<= 1e+12"),
    ("City", "", "text of 1 to 64 characters"),
    ("DiscountUsage", "Sometimes", "Unknown value 'Sometimes'"),
    ("Gender", "X", "Unknown value 'X'"),
])
def test_a_refused_value_names_the_input_and_index(
    client: TestClient, field: str, value: object, words: str,
) -> None:
    request = json_request(samples())
    column = FIELDS.index(field)
    request["inputs"][column]["data"][2] = value
    if field == "Age" and isinstance(value, float):
        request["inputs"][column]["datatype"] = "FP64"
    message = _error(client, request)
    assert f"input '{field}' index 2" in message
    assert words in message


@pytest.mark.parametrize(("change", "words"), [
    (lambda r: r["inputs"].pop(3), "input 'City' is missing"),
    (lambda r: r["inputs"].append({**r["inputs"][0]}), "input 'CustomerID' is given twice"),
    (lambda r: r["inputs"][0].update(name="Colour"), "input 'Colour' is not a customer field"),
    (lambda r: r["inputs"][1].update(datatype="BYTES"), "input 'Age': datatype BYTES"),
    (lambda r: r["inputs"][1].update(data=["28"] * 4), "input 'Age' index 0: Expected `int`"),
    (lambda r: r["inputs"][4].update(shape=[2, 2]), "expected [N] or [N, 1]"),
    (lambda r: [i.update(shape=[3]) for i in r["inputs"]], "data holds 4 values, the shape says 3"),
    (lambda r: [i.update(shape=[0], data=[]) for i in r["inputs"]], "0 customers"),
    (lambda r: r["inputs"][2].pop("data"), "input 'Gender': no data"),
    (lambda r: r.update(outputs=[{"name": "colour"}]), "output 'colour' is not an output"),
])
def test_a_malformed_request_is_400_saying_what_is_wrong(
    client: TestClient, change: Any, words: str,
) -> None:
    request = json_request(samples())
    change(request)
    assert words in _error(client, request)


def test_a_batch_over_the_limit_is_413() -> None:
    with make_client(max_batch=2) as client:
        assert "4 customers, expected 1 to 2" in _error(client, json_request(samples()), 413)


def test_malformed_json_is_400_in_the_protocol_shape(client: TestClient) -> None:
    answer = client.post(INFER, content=b'{"inputs": [', headers={"Content-Type": "application/json"})
    assert answer.status_code == 400
    assert "not valid" in answer.json()["error"]


@pytest.mark.parametrize(("mangle", "words"), [
    (lambda body, head: (body, "abc"), "Inference-Header-Content-Length 'abc'"),
    (lambda body, head: (body, str(len(body) + 1)), "not a length within the body"),
    (lambda body, head: (body[:-1], head), "input 'PreferredShoppingTime': binary_data_size 32 "
                                           "runs past the 349 bytes"),
    (lambda body, head: (body + b"\0", head), "1 bytes of binary data belong to no input"),
])
def test_broken_binary_data_is_400_naming_what_is_wrong(
    client: TestClient, mangle: Any, words: str,
) -> None:
    body, headers = binary_request(samples())
    body, length = mangle(body, headers["Inference-Header-Content-Length"])
    answer = client.post(INFER, content=body, headers={**headers,
                                                       "Inference-Header-Content-Length": length})
    assert answer.status_code == 400
    assert words in answer.json()["error"]


def test_binary_text_that_is_not_utf8_names_its_index(client: TestClient) -> None:
    customers = samples()
    body, headers = binary_request(customers)
    city = customers[1]["City"].encode()
    body = body.replace(struct.pack("<I", len(city)) + city,
                        struct.pack("<I", len(city)) + b"\xff" + city[1:], 1)
    answer = client.post(INFER, content=body, headers=headers)
    assert answer.status_code == 400
    assert "input 'City' index 1: not UTF-8" in answer.json()["error"]


def test_a_cut_text_element_names_its_index(client: TestClient) -> None:
    body, headers = binary_request(samples())
    header_length = int(headers["Inference-Header-Content-Length"])
    header = json.loads(body[:header_length])
    header["inputs"][-1]["parameters"]["binary_data_size"] -= 1  # the last element cut short
    head = json.dumps(header).encode()
    answer = client.post(INFER, content=head + body[header_length:-1],
                         headers={**headers, "Inference-Header-Content-Length": str(len(head))})
    assert answer.status_code == 400
    assert ("input 'PreferredShoppingTime' index 3: the element's length 5 runs past the data"
            in answer.json()["error"])


def test_a_short_numeric_tensor_names_its_size(client: TestClient) -> None:
    body, headers = binary_request(samples())
    header_length = int(headers["Inference-Header-Content-Length"])
    header = json.loads(body[:header_length])
    header["inputs"][1]["parameters"]["binary_data_size"] = 24  # Age: 3 of its 4 values
    header["inputs"][2]["parameters"]["binary_data_size"] += 8  # the rest goes to Gender
    head = json.dumps(header).encode()
    answer = client.post(INFER, content=head + body[header_length:],
                         headers={**headers, "Inference-Header-Content-Length": str(len(head))})
    assert answer.status_code == 400
    assert "input 'Age' 24 bytes of data, expected 4 x 8" in answer.json()["error"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(field=st.sampled_from(["name", "shape", "datatype", "parameters", "data"]),
       value=JSON_VALUES, row=st.integers(0, 10))
def test_no_mangled_request_answers_500(client: TestClient, field: str, value: Any, row: int) -> None:
    request = json_request(samples())
    request["inputs"][row % len(FIELDS)][field] = value
    answer = client.post(INFER, json=request)
    assert answer.status_code in (200, 400, 413), answer.text
    assert "error" in answer.json() or answer.status_code == 200


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header=st.text(st.characters(min_codepoint=33, max_codepoint=126), max_size=12),
       cut=st.integers(0, 2_000), junk=st.binary(max_size=64))
def test_no_mangled_binary_request_answers_500(
    client: TestClient, header: str, cut: int, junk: bytes,
) -> None:
    body, headers = binary_request(samples())
    answer = client.post(INFER, content=body[:cut] + junk,
                         headers={**headers, "Inference-Header-Content-Length": header or "0"})
    assert answer.status_code in (200, 400), answer.text


def test_inference_is_counted_in_drift_and_metrics() -> None:
    with make_client() as client:
        before = client.get("/drift").json()["customers"]
        body, headers = binary_request(samples())
        assert client.post(INFER, content=body, headers=headers).status_code == 200
        assert client.post(INFER, json=json_request(samples())).status_code == 200
        assert client.get("/drift").json()["customers"] == before + 8
        metrics = client.get("/metrics").text
    assert 'route="/v2/models/{model}/infer"' in metrics
