"""R1's model, trained as the seed did, pickled into a folder (run in the seed's venv).

Usage: ``python -m bench.perf.seed_train DATA.csv OUT_DIR``. Drops rows with a missing
value and 1.5 x IQR outliers on the six numeric columns (pandas), label-encodes the five
text columns (the customer id among them), standard-scales all eleven columns and fits
``KMeans(k=3, random_state=42, n_init=10)``. The folder is temporary, never committed.
"""

from __future__ import annotations

import io
import json
import pickle
import sys
from pathlib import Path

import pandas as pd
from sklearn.cluster import KMeans
from sklearn.preprocessing import LabelEncoder, StandardScaler

from bench.perf.rawcsv import read_text

NUMERIC = ["Age", "AnnualIncome", "TotalSpent", "MonthlyPurchases", "AvgOrderValue", "AppTimeMinutes"]
TEXT = ["CustomerID", "Gender", "City", "DiscountUsage", "PreferredShoppingTime"]


def clean(frame: pd.DataFrame) -> pd.DataFrame:
    """Rows without a missing value, then without a 1.5 x IQR outlier."""
    frame = frame.dropna()
    keep = pd.Series(True, index=frame.index)
    for column in NUMERIC:
        q1, q3 = frame[column].quantile([0.25, 0.75])
        spread = q3 - q1
        keep &= frame[column].between(q1 - 1.5 * spread, q3 + 1.5 * spread)
    return frame[keep]


def main(data: Path, out: Path) -> None:
    frame = clean(pd.read_csv(io.StringIO(read_text(data))))
    encoders = {}
    for column in TEXT:
        encoders[column] = LabelEncoder().fit(frame[column].astype(str))
        frame[column] = encoders[column].transform(frame[column].astype(str))
    scaler = StandardScaler().fit(frame)
    model = KMeans(n_clusters=3, random_state=42, n_init=10).fit(scaler.transform(frame))
    out.mkdir(parents=True, exist_ok=True)
    for name, item in {"label_encoders": encoders, "scaler": scaler, "kmeans_model": model}.items():
        (out / f"{name}.pkl").write_bytes(pickle.dumps(item))
    sizes = pd.Series(model.labels_).value_counts().sort_index().tolist()
    print(json.dumps({"rows": len(frame), "columns": list(frame.columns), "sizes": sizes}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
