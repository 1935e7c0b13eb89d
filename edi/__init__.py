"""edi package."""
