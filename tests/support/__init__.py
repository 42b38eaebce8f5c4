"""Shared test support: emulator hosts, pseudo-terminals, a minimal flight for link tests, console helpers."""
