"""Simulated hardware: device firmware emulators, physics and faults behind real byte streams.

Importing this package registers the ``sim://`` scheme with pyserial, so
``serial.serial_for_url("sim://drill")`` opens a port with the drill emulator behind it.
"""

import serial

if "sim_hw" not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append("sim_hw")
