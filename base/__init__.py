"""The base layer both segments stand on: the one clock and the typed TOML config loader (stdlib only)."""
