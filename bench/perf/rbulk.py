"""R-bulk: bulk scoring as a plain pandas + scikit-learn script would do it, with the seed's design.

Usage: ``python -m bench.perf.rbulk MODEL_DIR EXPORT.csv OUT.csv``. Reads the
export in chunks with pandas (the delivered layout: a BOM, each line wrapped in
quotes, read with quoting off and the wrapping quotes stripped), drops rows
with a missing or malformed value, label-encodes the five text columns with
the seed's pickled encoders (a value they never saw gets code 0: the seed
itself would refuse it), scales, predicts with the seed's ``KMeans`` and writes
``CustomerID,cluster,segment_name,confidence_score`` with ``to_csv``. It is the
reference the benchmark compares with, never part of the product.
"""

from __future__ import annotations

import csv
import pickle
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

NUMERIC = ["Age", "AnnualIncome", "TotalSpent", "MonthlyPurchases", "AvgOrderValue", "AppTimeMinutes"]
TEXT = ["CustomerID", "Gender", "City", "DiscountUsage", "PreferredShoppingTime"]
NAMES = {0: "Price-Sensitive Occasional", 1: "High-Value Loyal", 2: "Value-Seeking Regular"}
CHUNK = 500_000


def _encode(encoder: Any, values: pd.Series) -> np.ndarray:
    lookup = {label: code for code, label in enumerate(encoder.classes_)}
    return values.map(lookup).fillna(0).to_numpy(dtype=np.int64)


def main(model: Path, source: Path, out: Path) -> None:
    # The seed's own pickles, written by bench.perf.seed_train in this run: the design measured.
    encoders = pickle.loads((model / "label_encoders.pkl").read_bytes())  # noqa: S301
    scaler = pickle.loads((model / "scaler.pkl").read_bytes())  # noqa: S301
    kmeans = pickle.loads((model / "kmeans_model.pkl").read_bytes())  # noqa: S301
    columns = list(scaler.feature_names_in_)
    header = True
    for read in pd.read_csv(source, encoding="utf-8-sig", quoting=csv.QUOTE_NONE, dtype=str,
                            chunksize=CHUNK, on_bad_lines="skip"):
        chunk = read
        chunk.columns = [name.strip('"') for name in chunk.columns]
        chunk[chunk.columns[0]] = chunk[chunk.columns[0]].str.lstrip('"')
        chunk[chunk.columns[-1]] = chunk[chunk.columns[-1]].str.rstrip('"')
        for name in NUMERIC:
            chunk[name] = pd.to_numeric(chunk[name], errors="coerce")
        chunk = chunk.dropna()
        frame = pd.DataFrame({name: _encode(encoders[name], chunk[name]) if name in TEXT
                              else chunk[name].to_numpy() for name in columns})
        distances = kmeans.transform(scaler.transform(frame))
        cluster = distances.argmin(axis=1)
        confidence = np.round(1 - distances.min(axis=1) / distances.max(axis=1), 4)
        answers = pd.DataFrame({"CustomerID": chunk["CustomerID"].to_numpy(), "cluster": cluster,
                                "segment_name": pd.Series(cluster).map(NAMES).to_numpy(),
                                "confidence_score": confidence})
        answers.to_csv(out, mode="w" if header else "a", header=header, index=False)
        header = False


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]), Path(sys.argv[3]))
