"""Local payer portals and a clearinghouse over one seeded synthetic dataset, for tests, demo and benchmarks.

Entry points: `sandbox.servers.run_sandbox` (and `run_sandbox_in_subprocess`), `sandbox.testing` for
tests, `sandbox.cli.app` (mounted as `claimbot sandbox`), `sandbox.dataset.load_world`. This package
imports nothing on its own, so `python -m sandbox.dataset --write` runs the module only once.
See sandbox/README.md for the portals, accounts, fault spec, admin endpoints and clearinghouse envelope.
Corrected and void claims are remembered by one book every server shares; its rules are in
`sandbox/corrections.py` (module docstring).
"""
