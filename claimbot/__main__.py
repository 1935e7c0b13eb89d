"""`python -m claimbot` runs the command line."""

from claimbot.cli import app

app(prog_name="claimbot")
