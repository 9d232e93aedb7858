"""Performance benchmark suite: our service against the seed (R1), the framework (R2) and
scikit-learn (R3). Entry command: ``bench/run``; see ``bench/perf/__main__.py``.

Modules stay light to import: the seed's service and trainer run in their own venv.
"""
