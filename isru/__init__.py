"""isru package."""
