"""`python -m sandbox serve ...`: the sandbox CLI without the claimbot entry point."""

from sandbox.cli import app

app(prog_name="sandbox")
