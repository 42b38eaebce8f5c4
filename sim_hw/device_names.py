"""The names of the emulated devices (a plain table, so configuration can check names without the emulators)."""

#: Device names, in the order the world steps them (sources of load before the power system).
DEVICE_NAMES = ("drive", "hopper", "anchor", "drill", "scoop", "extractor", "imu", "power")
