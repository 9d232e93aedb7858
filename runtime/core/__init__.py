"""The model core that serving, bulk scoring and training share.

Bundle format, customer schema, feature layout and encoding, prediction, catalogue and drift.
It imports nothing from the other parts of ``runtime``.
"""
