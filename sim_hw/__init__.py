"""Simulated hardware: the device firmware emulators, their physics and line faults behind real byte streams.
Importing it registers pyserial's ``sim://`` scheme (``serial.serial_for_url("sim://drill")``)."""

import serial

if "sim_hw" not in serial.protocol_handler_packages:
    serial.protocol_handler_packages.append("sim_hw")
