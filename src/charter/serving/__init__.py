"""Serving: every prediction explained, logged and tied to its governed version.

A library below the HTTP layer. :mod:`~charter.serving.loaded` loads a registered version
through the registry's safe loader, with its :mod:`~charter.serving.explainers` (built once)
and :mod:`~charter.serving.schema`; :mod:`~charter.serving.log` writes the inference log the
monitor reads, :mod:`~charter.serving.labels` keeps delayed labels beside it, and
:mod:`~charter.serving.payload` reads MLflow's and the Open Inference Protocol's request
formats.
"""
