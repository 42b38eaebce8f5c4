"""Physics models behind the device emulators (mobility, drilling, excavation, thermal, electrical,
anchoring, inertial; SI units throughout), free of any protocol or firmware."""
