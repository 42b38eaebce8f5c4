"""Physics models behind the device emulators (SI units throughout)."""
