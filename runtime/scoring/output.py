"""Writing the answers as CSV or Parquet, and a side file of the rows set aside.

Answers are ``CustomerID,cluster,segment_name,confidence_score`` (and with
``explain`` one ``distance_<id>`` per segment), written by Arrow's CSV or
Parquet writer a batch at a time. Both files are written through
:class:`~runtime.scoring.paths.AtomicFile`: complete, or not at all.
"""

from __future__ import annotations

import contextlib
import csv
import io
from pathlib import Path
from types import TracebackType
from typing import Literal

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv
import pyarrow.parquet as pq

from runtime.core.bundle import Segment
from runtime.scoring.arrays import from_numpy, strings
from runtime.scoring.columns import RejectedRow
from runtime.scoring.model import Scored
from runtime.scoring.paths import AtomicFile, OutputError

__all__ = ["Format", "ScoreFormat", "ScoreOutput", "format_of", "rejected_lines", "rejected_path"]

Format = Literal["csv", "parquet"]
_DISTANCE_PLACES = 6
_ROW_GROUP = 262_144  # answers written at once: a Parquet row group of a sensible size
# Columns Parquet stores as dictionaries: a few segments, and confidence scores rounded to 4
# places (at most 10,001 values), which then cost half as much to write and a third of the
# bytes. Customer ids are all distinct, and distances have 6 places: plain for those.
_FEW_VALUES = ("cluster", "segment_name", "confidence_score")


def format_of(path: Path, asked: str | None = None) -> Format:
    """The format asked for, else the one ``path``'s extension names (CSV unless Parquet)."""
    if asked in ("csv", "parquet"):
        return asked  # type: ignore[return-value]
    return "parquet" if path.suffix.lower() in (".parquet", ".parq", ".pq") else "csv"


def rejected_path(output: Path) -> Path:
    """Where the rows set aside go: ``OUT.rejected.csv`` beside ``OUT.csv`` or ``OUT.parquet``."""
    return output.with_name(f"{output.stem}.rejected.csv")


class ScoreFormat:
    """The answers' columns, as an Arrow schema, and scored batches as Arrow tables."""

    def __init__(self, catalogue: list[Segment], explain: bool = False) -> None:
        self.explain = explain
        self.ids = np.array([segment.id for segment in catalogue], dtype=np.int64)
        self.names = strings([segment.name for segment in catalogue])
        fields = [pa.field("CustomerID", pa.string()), pa.field("cluster", pa.int64()),
                  pa.field("segment_name", pa.string()), pa.field("confidence_score", pa.float64())]
        if explain:
            fields += [pa.field(f"distance_{segment.id}", pa.float64()) for segment in catalogue]
        self.schema = pa.schema(fields)

    def table(self, scored: Scored) -> pa.Table:
        """The answers of ``scored`` in file order."""
        segments = from_numpy(scored.segments.astype(np.int64))
        columns = [scored.ids.cast(pa.string()), from_numpy(self.ids[scored.segments]),
                   self.names.take(segments), from_numpy(scored.confidence.astype(np.float64))]
        if self.explain:
            distances = (np.round(scored.distances, _DISTANCE_PLACES) if scored.distances is not None
                         else np.zeros((len(scored), len(self.ids))))
            columns += [from_numpy(column) for column in distances.T]
        return pa.Table.from_arrays(columns, schema=self.schema)


def rejected_lines(rows: list[RejectedRow], prefix: str = "") -> bytes:
    """``rows`` as CSV lines of ``line,CustomerID,reason``, each after ``prefix``."""
    text = io.StringIO()
    csv.writer(text, lineterminator="\n").writerows(
        (row.line, row.customer_id, row.reason) for row in rows)
    if not prefix:
        return text.getvalue().encode()
    return "".join(prefix + line for line in text.getvalue().splitlines(keepends=True)).encode()


class ScoreOutput:
    """The answers file and its side file of rejected rows, complete or not at all.

    Use as a context manager: leaving it normally renames both into place,
    leaving it by an exception (an interruption included) removes both.
    """

    def __init__(self, path: Path, format: ScoreFormat, kind: Format = "csv",
                 numbered: str = "line", *, rejected: Path | None = None, prefix: str = "") -> None:
        self.path = path
        self.rejected_path = rejected or rejected_path(path)
        self.format = format
        self.kind = kind
        self.numbered = numbered  # the header of the side file's columns before CustomerID
        self.prefix = prefix  # written before each rejected row, under ``numbered``
        self._files: list[AtomicFile] = []
        self._pending: list[pa.Table] = []

    def __enter__(self) -> ScoreOutput:
        try:
            self._answers = self._open(self.path)
            self._rejected = self._open(self.rejected_path)
            self._writer: pacsv.CSVWriter | pq.ParquetWriter = (
                pq.ParquetWriter(self._answers.file, self.format.schema,
                                 use_dictionary=list(_FEW_VALUES))
                if self.kind == "parquet" else
                pacsv.CSVWriter(self._answers.file, self.format.schema,
                                write_options=pacsv.WriteOptions(quoting_style="needed")))
        except BaseException:
            self._discard()
            raise
        self._rejected.file.write(f"{self.numbered},CustomerID,reason\n".encode())
        return self

    def _open(self, target: Path) -> AtomicFile:
        file = AtomicFile(target)
        self._files.append(file)
        return file

    def write(self, scored: Scored) -> None:
        """Append one batch's answers and rejected rows."""
        try:
            if len(scored):
                self._pending.append(self.format.table(scored))
                if sum(table.num_rows for table in self._pending) >= _ROW_GROUP:
                    self._flush()
        except OSError as exc:
            raise OutputError(f"{self.path}: {exc.strerror or exc}") from exc
        try:
            if scored.rejected:
                self._rejected.file.write(rejected_lines(scored.rejected, self.prefix))
        except OSError as exc:
            raise OutputError(f"{self._rejected.target}: {exc.strerror or exc}") from exc

    def _flush(self) -> None:
        """Write the answers held back, as one Parquet row group (or one CSV block)."""
        if self._pending:
            self._writer.write_table(pa.concat_tables(self._pending))
            self._pending.clear()

    def _discard(self) -> None:
        writer = getattr(self, "_writer", None)
        if writer is not None:
            with contextlib.suppress(Exception):  # its file goes anyway; a full disk fails again
                writer.close()
        for file in self._files:
            file.discard()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is not None:
            self._discard()
            return
        try:
            try:
                self._flush()
                self._writer.close()
            except OSError as exc:
                raise OutputError(f"{self.path}: {exc.strerror or exc}") from exc
            for file in self._files:  # both whole on disk before either is renamed
                file.finish()
            self._rejected.commit()  # the side file first: the answers' presence means both are whole
            self._answers.commit()
        except BaseException:
            self._discard()
            raise
