"""The segmentation service's runtime: bundle reading and NumPy-only prediction and serving."""
