"""The web view's pages, one module per area; each holds a ``router`` (api/web/__init__.py)."""
