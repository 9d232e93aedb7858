"""R1, the seed's design: FastAPI + pydantic, pandas and pickled scikit-learn per request.

Run in the seed's venv with ``SEED_MODEL_DIR`` naming the folder that
:mod:`bench.perf.seed_train` wrote: ``uvicorn bench.perf.seed_service:app``.
Segment names are tied to the raw K-Means label, as the seed had them.
"""

from __future__ import annotations

import os
import pickle
from pathlib import Path
from typing import Any

import pandas as pd
from fastapi import FastAPI, HTTPException
from pydantic import BaseModel

MODEL_DIR = Path(os.environ["SEED_MODEL_DIR"])
COLUMNS = [
    "CustomerID",
    "Age",
    "Gender",
    "City",
    "AnnualIncome",
    "TotalSpent",
    "MonthlyPurchases",
    "AvgOrderValue",
    "AppTimeMinutes",
    "DiscountUsage",
    "PreferredShoppingTime",
]
SEGMENTS: dict[int, dict[str, Any]] = {
    0: {
        "name": "Price-Sensitive Occasional",
        "description": "Budget-conscious customers with low spending and infrequent purchases",
        "characteristics": [
            "Lower annual income (~$262K)",
            "Low total spending (~$54K)",
            "Infrequent monthly purchases (2.2)",
            "Low app engagement (~19 mins)",
        ],
        "offers": [
            "Heavy discount coupons (20-30% off)",
            "Free shipping on first orders",
            "Budget product recommendations",
            "Flash sale notifications",
        ],
    },
    1: {
        "name": "High-Value Loyal",
        "description": "Premium customers with high income, spending and engagement",
        "characteristics": [
            "High annual income (~$1.03M)",
            "High total spending (~$663K)",
            "Frequent monthly purchases (16.1)",
            "High app engagement (~116 mins)",
        ],
        "offers": [
            "Exclusive VIP membership",
            "Early access to new collections",
            "Premium product recommendations",
            "Personal shopping assistant",
        ],
    },
    2: {
        "name": "Value-Seeking Regular",
        "description": "Mid-tier customers with moderate income and regular engagement",
        "characteristics": [
            "Mid-range annual income (~$585K)",
            "Moderate total spending (~$260K)",
            "Regular monthly purchases (8.8)",
            "Moderate app engagement (~68 mins)",
        ],
        "offers": [
            "Seasonal sales and limited-time offers",
            "Bundle deals and combo packages",
            "Referral bonuses for inviting friends",
            "Mid-range product recommendations with best value",
        ],
    },
}


def _load(name: str) -> Any:
    return pickle.loads((MODEL_DIR / f"{name}.pkl").read_bytes())  # noqa: S301  (seed's design)


encoders = _load("label_encoders")
scaler = _load("scaler")
kmeans = _load("kmeans_model")
app = FastAPI(title="Customer Segmentation API", version="1.0.0")


class CustomerData(BaseModel):
    """The seed's request body."""

    CustomerID: str
    Age: int
    Gender: str
    City: str
    AnnualIncome: float
    TotalSpent: float
    MonthlyPurchases: int
    AvgOrderValue: float
    AppTimeMinutes: float
    DiscountUsage: str
    PreferredShoppingTime: str


class PredictionResponse(BaseModel):
    """The seed's response shape."""

    cluster: int
    segment_name: str
    segment_description: str
    characteristics: list[str]
    recommended_offers: list[str]
    confidence_score: float


@app.get("/health")
async def health() -> dict[str, Any]:
    return {"status": "healthy", "model_loaded": True}


@app.post("/predict", response_model=PredictionResponse)
async def predict(customer: CustomerData) -> PredictionResponse:
    frame = pd.DataFrame([customer.model_dump()])[COLUMNS]
    for column, encoder in encoders.items():
        value = frame[column].iloc[0]
        if value not in encoder.classes_:
            raise HTTPException(400, f"Unknown value '{value}' for column '{column}'")
        frame[column] = encoder.transform(frame[column])
    scaled = scaler.transform(frame)
    cluster = int(kmeans.predict(scaled)[0])
    distances = kmeans.transform(scaled)[0]
    confidence = 1 - distances[cluster] / distances.max()
    segment = SEGMENTS[cluster]
    return PredictionResponse(
        cluster=cluster,
        segment_name=segment["name"],
        segment_description=segment["description"],
        characteristics=segment["characteristics"],
        recommended_offers=segment["offers"],
        confidence_score=round(float(confidence), 4),
    )
