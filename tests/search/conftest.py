"""Callers with tokens, as the API tests make them."""

from tests.api.conftest import make_caller  # noqa: F401 - a fixture
