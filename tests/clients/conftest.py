"""The API tests' callers, for client tests that go through the API."""

from tests.api.conftest import admin, make_caller

__all__ = ["admin", "make_caller"]
