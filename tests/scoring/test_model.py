"""Column-wise encoding equals the service's encoder, refusals included."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from runtime.core.bundle import load_bundle
from runtime.core.features import InvalidValue
from runtime.scoring.chunks import KeyedChunk
from runtime.scoring.export import COLUMNS, NUMERIC_COLUMNS, ExportChunk
from runtime.scoring.model import BulkModel
from runtime.scoring.reader import ExportReader
from tests.conftest import DEFAULT_BUNDLE
from tests.scoring.conftest import row, write_export

SPELLINGS = {
    "Gender": ["F", "M", "female", "Male", " f ", "X", "FEMALE"],
    "City": ["Mumbai", "pune", "Springfield", "DELHI", ""],
    "DiscountUsage": ["Low", "medium", "HIGH", "Sometimes"],
    "PreferredShoppingTime": ["Day", "night", "Dusk"],
}


@pytest.fixture(scope="module")
def model() -> BulkModel:
    return BulkModel(load_bundle(DEFAULT_BUNDLE))


def _columns(rng: np.random.Generator, n: int) -> dict[str, np.ndarray]:
    columns = {name: rng.uniform(1, 1e6, n).round() for name in NUMERIC_COLUMNS}
    columns["Age"] = rng.integers(18, 80, n).astype(np.float64)
    columns["CustomerID"] = np.array([f"C{i}" for i in range(n)])
    for name, spellings in SPELLINGS.items():
        columns[name] = np.array(spellings)[rng.integers(len(spellings), size=n)]
    return {name: columns[name] for name in COLUMNS}


def test_encoding_and_refusals_match_the_encoder_row_by_row(
        model: BulkModel, rng: np.random.Generator) -> None:
    columns = _columns(rng, 400)
    raw, refused = model.encode(columns)
    encoder = model.predictor.encoder
    for i in range(400):
        row = {name: [columns[name][i].item()] for name in COLUMNS}
        try:
            expected = encoder.transform(row)
        except InvalidValue:
            assert refused[i], row
            continue
        assert not refused[i], row
        assert raw[i].tolist() == expected[0].tolist(), row


def test_scores_equal_the_predictor_on_the_same_rows(
        model: BulkModel, rng: np.random.Generator) -> None:
    columns = _columns(rng, 300)
    chunk = ExportChunk(columns, np.arange(2, 302))
    scored = model.score(chunk)
    kept = [i for i in range(300) if i + 2 not in {r.line for r in scored.rejected}]
    expected = model.predictor.predict({name: columns[name][kept].tolist() for name in COLUMNS})
    assert scored.segments.tolist() == expected.segments.tolist()
    assert scored.confidence.tolist() == expected.confidence.tolist()
    assert scored.rejected and all(r.reason.startswith("invalid value: ") for r in scored.rejected)


def test_codes_from_the_readers_keys_equal_codes_from_the_strings(
        model: BulkModel, rng: np.random.Generator, tmp_path: Path) -> None:
    lines = []
    for i in range(500):
        fields = {name: rng.choice(spellings) for name, spellings in SPELLINGS.items()}
        fields["City"] = rng.choice([*SPELLINGS["City"][:4], "Bangalore", "Thiruvananthapuram",
                                     "Bengaluru ನಗರ"])
        lines.append(row(CustomerID=f"C{i}", **fields))
    chunks = list(ExportReader(write_export(tmp_path / "spellings.csv", lines)).blocks())
    for chunk in chunks:
        assert isinstance(chunk, KeyedChunk)
        for spec in model._categorical:
            values = chunk.columns[spec.field]
            assert model.codes(spec, values, chunk.keys[spec.field]).tolist() == \
                model.codes(spec, values).tolist() == model.predictor.encoder.codes(
                    spec, values.tolist()).tolist()
