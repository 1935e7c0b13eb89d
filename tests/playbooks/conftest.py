import pytest

from sandbox.testing import reset_all


@pytest.fixture(autouse=True)
def _clean_sandbox(request: pytest.FixtureRequest) -> None:
    """Reset faults and counters before tests that use the sandbox; parser tests never start it."""
    if "sandbox" in request.fixturenames:
        reset_all(request.getfixturevalue("sandbox"))
