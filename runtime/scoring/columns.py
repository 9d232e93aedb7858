"""The columns of a customer export, and how a row is set aside: shared by every reader."""

from __future__ import annotations

from dataclasses import dataclass

from msgspec import inspect

from runtime.core.customer import Customer

__all__ = ["CATEGORY_COLUMNS", "COLUMNS", "NUMERIC_COLUMNS", "TEXT_COLUMNS", "ExportError",
           "RejectedRow"]


def _is_text(kind: inspect.Type) -> bool:
    return isinstance(kind.type if isinstance(kind, inspect.Metadata) else kind, inspect.StrType)


# The customer schema's fields, in its order: an export has one column for each.
COLUMNS: tuple[str, ...] = Customer.__struct_fields__
TEXT_COLUMNS: tuple[str, ...] = tuple(
    field.name for field in inspect.type_info(Customer).fields  # type: ignore[attr-defined]
    if _is_text(field.type))
NUMERIC_COLUMNS = tuple(name for name in COLUMNS if name not in TEXT_COLUMNS)
# The texts other than the identifier name a category: a few distinct values, which Parquet
# stores once per column chunk and Arrow can keep as a dictionary.
CATEGORY_COLUMNS = tuple(name for name in TEXT_COLUMNS if name != "CustomerID")


class ExportError(Exception):
    """The file cannot be read as a customer export; the message names the file (and line)."""


@dataclass(frozen=True)
class RejectedRow:
    """A row set aside: its line (CSV) or row (Parquet) number, customer id, and why."""

    line: int
    customer_id: str
    reason: str
