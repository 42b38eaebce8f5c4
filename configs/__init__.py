"""The embedded configuration: ``sim.toml`` (the default, a simulated rover), ``rig.toml``, the fault
protection table and the stored sequences, shipped as package data."""
