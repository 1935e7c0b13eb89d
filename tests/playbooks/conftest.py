import pytest

from sandbox.servers import SandboxEndpoints
from sandbox.testing import reset_all


@pytest.fixture(autouse=True)
def _clean_sandbox(sandbox: SandboxEndpoints) -> None:
    reset_all(sandbox)
