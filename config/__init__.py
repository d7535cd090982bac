"""Package data of the worker: the gazetteer and the enriched-article JSON Schema.

This folder is the package ``worker.data`` once built or installed (see
``[tool.setuptools]`` in pyproject.toml); read its files with ``importlib.resources``.
Its ``gazetteer/`` subfolder holds the gazetteer's build script and inputs, which are
not shipped.
"""
