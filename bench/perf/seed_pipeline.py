"""R4's model: the seed's design as one scikit-learn pipeline, saved with joblib (run in the
MLServer venv).

Usage: ``python -m bench.perf.seed_pipeline DATA.csv MODEL.joblib``. The seed's cleaning
(:func:`bench.perf.seed_train.clean`), its label encoding of the five text columns (an
ordinal encoding with sorted categories; unknown values become -1 where the seed answered
400), a standard scaler over all eleven columns and ``KMeans(k=3, random_state=42, n_init=10)``.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import joblib
import pandas as pd
from sklearn.cluster import KMeans
from sklearn.compose import ColumnTransformer
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import OrdinalEncoder, StandardScaler

from bench.perf.rawcsv import read_text
from bench.perf.seed_train import NUMERIC, TEXT, clean


def main(data: Path, out: Path) -> None:
    frame = clean(pd.read_csv(io.StringIO(read_text(data))))
    frame[TEXT] = frame[TEXT].astype(str)
    encode = ColumnTransformer([
        ("labels", OrdinalEncoder(handle_unknown="use_encoded_value", unknown_value=-1), TEXT),
        ("numbers", "passthrough", NUMERIC),
    ])
    pipeline = Pipeline([("encode", encode), ("scale", StandardScaler()),
                         ("kmeans", KMeans(n_clusters=3, random_state=42, n_init=10))])
    pipeline.fit(frame)
    out.parent.mkdir(parents=True, exist_ok=True)
    joblib.dump(pipeline, out)
    sizes = pd.Series(pipeline.named_steps["kmeans"].labels_).value_counts().sort_index().tolist()
    print(json.dumps({"rows": len(frame), "sizes": sizes}))


if __name__ == "__main__":
    main(Path(sys.argv[1]), Path(sys.argv[2]))
