"""Customer segmentation at serve time: NumPy-only prediction from a pickle-free bundle.

The parts, and which other parts each may import (``tests/test_layout.py`` checks it):

- ``runtime.core``: the model that every other part shares (bundle format, customer
  schema, feature encoding, prediction, catalogue, drift). Imports no other part.
- ``runtime.service``: the HTTP service. Imports ``core``.
- ``runtime.scoring``: bulk scoring of whole exports. Imports ``core``.
- The entry points beside them (``__main__``, ``score``, ``smoke``, ``rollout``) start one
  part each.

``training`` (offline, scikit-learn) imports ``core`` and ``scoring``; nothing here imports it.
"""

__all__ = ["PART_IMPORTS"]

PART_IMPORTS: dict[str, frozenset[str]] = {
    "core": frozenset(),
    "service": frozenset({"core"}),
    "scoring": frozenset({"core"}),
}
