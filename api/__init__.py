"""The interfaces over hub: the HTTP API (FastAPI), and the ``clienthub`` command line."""
