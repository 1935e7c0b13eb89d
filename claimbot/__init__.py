"""claimbot package."""
