"""The serial hardware abstraction layer: the ICD's frame format and messages, one transport per serial
port, and the host-side driver base and drivers of every rover device."""
