"""Bulk scoring: whole exports scored as the service answers, on one machine or on Dask.

The command is ``python -m runtime.score`` (:mod:`runtime.score`). Here are its
parts, in the order data flows through them: the export's bytes
(:mod:`~runtime.scoring.source`), read column by column
(:mod:`~runtime.scoring.blocks`, :mod:`~runtime.scoring.reader`), scored
(:mod:`~runtime.scoring.model`), written (:mod:`~runtime.scoring.output`), by
one of two engines (:mod:`~runtime.scoring.local`, :mod:`~runtime.scoring.dask_engine`).
"""
