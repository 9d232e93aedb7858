"""Writing the answers: a CSV of scored customers and a side file of the rows set aside.

Both are written under temporary names beside their targets and renamed into
place only once the run is complete, so an interrupted run leaves neither a
partial file nor a stale one from an earlier run under the names asked for.
Lines are formatted a chunk at a time from precomputed strings, never row by row.
"""

from __future__ import annotations

import csv
import io
import os
import secrets
from pathlib import Path
from types import TracebackType

import numpy as np

from runtime.core.bundle import Segment
from runtime.core.predictor import CONFIDENCE_STEPS
from runtime.scoring.model import Scored

__all__ = ["AtomicFile", "ScoreFormat", "ScoreOutput", "rejected_path"]

_DISTANCE_PLACES = 6
_SPECIAL = (",", '"', "\r", "\n")


def rejected_path(output: Path) -> Path:
    """Where the rows set aside go: ``OUT.rejected.csv`` beside ``OUT.csv``."""
    return output.with_name(f"{output.stem}.rejected.csv")


def _quote(text: str) -> str:
    """``text`` as one CSV field, quoted the way the csv module quotes when it must."""
    if any(char in text for char in _SPECIAL):
        return '"' + text.replace('"', '""') + '"'
    return text


class ScoreFormat:
    """Formats scored chunks as ``CustomerID,cluster,segment_name,confidence_score`` lines.

    With ``explain``, one ``distance_<id>`` column per segment follows, in
    catalogue order: the distances of the service's explanations (Euclidean, in
    the model's scaled space), rounded to 6 places.
    """

    def __init__(self, catalogue: list[Segment], explain: bool = False) -> None:
        self.explain = explain
        columns = ["CustomerID", "cluster", "segment_name", "confidence_score"]
        if explain:
            columns += [f"distance_{segment.id}" for segment in catalogue]
        self.header = (",".join(columns) + "\n").encode()
        self._end = "" if explain else "\n"
        self._heads = [f",{segment.id},{_quote(segment.name)}," for segment in catalogue]
        scores = [repr(k / CONFIDENCE_STEPS) for k in range(CONFIDENCE_STEPS + 1)]
        self._values = np.arange(CONFIDENCE_STEPS + 1) / CONFIDENCE_STEPS
        # Every (segment, score) ending precomputed: a line is its id and one of these.
        self._tails = np.array(
            [head + score + self._end for head in self._heads for score in scores], dtype=object)

    def _tail_strings(self, scored: Scored) -> list[str]:
        confidence = scored.confidence
        steps = np.clip(np.rint(confidence * CONFIDENCE_STEPS), 0, CONFIDENCE_STEPS).astype(np.intp)
        tails: list[str] = self._tails[scored.segments * (CONFIDENCE_STEPS + 1) + steps].tolist()
        odd = np.flatnonzero((self._values[steps] != confidence) | np.signbit(confidence))
        for row in odd.tolist():  # not a multiple of 1e-4 as np.round leaves it: spell it out
            head = self._heads[int(scored.segments[row])]
            tails[row] = head + repr(float(confidence[row])) + self._end
        return tails

    def lines(self, scored: Scored) -> bytes:
        """The CSV lines of ``scored``, in order."""
        ids: list[str] = scored.ids.tolist()
        if any(char in "".join(ids) for char in _SPECIAL):
            ids = [_quote(customer) for customer in ids]
        columns = [ids, self._tail_strings(scored)]
        if self.explain and scored.distances is not None and ids:
            for distances in np.round(scored.distances, _DISTANCE_PLACES).T.tolist():
                columns += [[","] * len(ids), list(map(repr, distances))]
            columns.append(["\n"] * len(ids))
        # One join over all the pieces, laid out line after line by strided assignment.
        parts: list[str] = [""] * (len(columns) * len(ids))
        for offset, column in enumerate(columns):
            parts[offset::len(columns)] = column
        return "".join(parts).encode()


class AtomicFile:
    """A file written under a temporary name beside ``target``, renamed into place by ``commit``."""

    def __init__(self, target: Path) -> None:
        self.target = target
        self.temp = target.with_name(f".{target.name}.{secrets.token_hex(4)}.tmp")
        # os.open with 0o666 lets the umask decide, as for any new file (mkstemp would force 0600).
        descriptor = os.open(self.temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
        self.file = os.fdopen(descriptor, "wb", buffering=1 << 20)

    def write(self, data: bytes) -> None:
        self.file.write(data)

    def commit(self) -> None:
        self.file.close()
        os.replace(self.temp, self.target)

    def discard(self) -> None:
        self.file.close()
        self.temp.unlink(missing_ok=True)


class ScoreOutput:
    """The output CSV and its side file of rejected rows, complete or not at all.

    Use as a context manager: leaving it normally renames both into place,
    leaving it by an exception (an interruption included) removes both.
    """

    def __init__(self, path: Path, format: ScoreFormat) -> None:
        self.path = path
        self.rejected_path = rejected_path(path)
        self.format = format
        self._files: list[AtomicFile] = []

    def __enter__(self) -> ScoreOutput:
        try:
            self._answers = self._open(self.path)
            self._rejected = self._open(self.rejected_path)
        except BaseException:
            self._discard()
            raise
        self._answers.write(self.format.header)
        self._rejected.write(b"line,CustomerID,reason\n")
        return self

    def _open(self, target: Path) -> AtomicFile:
        file = AtomicFile(target)
        self._files.append(file)
        return file

    def write(self, scored: Scored) -> None:
        """Append one chunk's answers and rejected rows."""
        self._answers.write(self.format.lines(scored))
        if scored.rejected:
            text = io.StringIO()
            writer = csv.writer(text, lineterminator="\n")
            writer.writerows((row.line, row.customer_id, row.reason) for row in scored.rejected)
            self._rejected.write(text.getvalue().encode())

    def _discard(self) -> None:
        for file in self._files:
            file.discard()

    def __exit__(self, kind: type[BaseException] | None, error: BaseException | None,
                 traceback: TracebackType | None) -> None:
        if kind is not None:
            self._discard()
            return
        try:
            self._rejected.commit()  # the side file first: the answers' presence means both are whole
            self._answers.commit()
        except BaseException:
            self._discard()
            raise
