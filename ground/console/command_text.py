"""How the console words a command record: its arguments whoever sent it, flight's message, its outcome.
Plain functions of ``CommandRecord.as_dict()`` data (no page code), shared by the history, the sender and
the command stack."""

from __future__ import annotations

from typing import Any

#: How flight's accepted status states the arguments (``flight.dispatcher.args_text``).
ACCEPTED_PREFIX = "args: "


def args_text(data: dict[str, Any]) -> str:
    """The arguments of a command record (``as_dict()``): those this console sent, else those flight's
    acceptance reports (``args: k=v, ...``), else ''."""
    if data["args"]:
        return ", ".join(f"{k}={v}" for k, v in data["args"].items())
    for status in data["stages"]:
        message = str(status.get("message") or "")
        if status["stage"] == "accepted" and message.startswith(ACCEPTED_PREFIX):
            shown = message[len(ACCEPTED_PREFIX) :]
            return "" if shown == "none" else shown
    return ""


def message_text(data: dict[str, Any]) -> str:
    """Flight's last message about a command other than the acceptance's arguments ('' if none): the
    failure message of a refused command, or what a completed one reported."""
    for status in reversed(data["stages"]):
        message = str(status.get("message") or "")
        if message and not (status["stage"] == "accepted" and message.startswith(ACCEPTED_PREFIX)):
            return message
    return ""


def outcome_text(record: Any) -> str:
    """One line for the sender: the command, its id and its latest stage; a failed one with flight's reason
    and message."""
    data = record.as_dict()
    text = f"{data['name']} {data['id']}: {data['stage']}"
    if data["stage"] == "failed":
        text += f" — {data['reason']}"
    message = message_text(data)
    if message:
        text += f": {message}"
    return text
