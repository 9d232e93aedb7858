"""Bulk scoring: whole exports scored as the service answers, on one machine or on Dask.

The command is ``python -m runtime.score`` (:mod:`runtime.score`). Its parts, in
the order data flows through them: the export's lines, bounded in length
(:mod:`~runtime.scoring.lines`), read by Apache Arrow (:mod:`~runtime.scoring.reader`),
judged by the API's rules (:mod:`~runtime.scoring.checks`), scored
(:mod:`~runtime.scoring.model`), written (:mod:`~runtime.scoring.output`,
:mod:`~runtime.scoring.paths`), by one of two engines (:mod:`~runtime.scoring.local`,
:mod:`~runtime.scoring.dask_engine` with :mod:`~runtime.scoring.parts`). Training
reads exports through :mod:`~runtime.scoring.export`.
"""
