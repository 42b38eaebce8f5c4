"""Subcommands of the isru command line."""
