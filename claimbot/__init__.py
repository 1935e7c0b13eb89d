"""The Claimbot application: settings, logging and the `claimbot` command line."""
