"""portal_adapters package."""
