"""The API fixtures (a live server with a token per role) for the operations tests."""

from tests.api.conftest import api  # noqa: F401 (fixture)
