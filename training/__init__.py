"""Offline training: a customer export in, a model bundle out (scikit-learn, never at serve time)."""
