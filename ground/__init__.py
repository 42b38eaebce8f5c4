"""The ground segment: link client, command verifier, shared alarms, archive, procedures API and the operator
console. It talks to flight only through link and never touches the serial HAL."""
