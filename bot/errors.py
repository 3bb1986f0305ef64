"""One base for the failures a person is told about, and the texts every refusal shares.

A domain exception that the person who asked should read derives from ``IncidentBotError``; its
``user_message`` is shown to them, ephemerally, by the one ``@app.error`` handler
(``bot.slack.app``). Any other exception is logged and answered with ``sorry()``.
"""

from __future__ import annotations


class IncidentBotError(Exception):
    """A refusal or failure with a message for the person; ``str(exc)`` is for logs and the CLI."""

    @property
    def user_message(self) -> str:
        return str(self)


class UsageError(IncidentBotError, ValueError):
    """Bad input: what is wrong, and the usage of the subcommand when known."""

    def __init__(self, message: str, usage: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.usage = usage

    def human(self) -> str:
        return f"{self.message}\nUsage: `{self.usage}`" if self.usage else self.message

    @property
    def user_message(self) -> str:
        return self.human()


def sorry(what: str | None = None) -> str:
    """The answer to a failure on our side (a retry of the same request is safe)."""
    return f"Sorry, {what or 'that'} failed on our side; nothing was lost. Please try again."


DATABASE_DOWN = (
    ":warning: The incident database is unreachable right now, so nothing was changed. "
    "Please try again in a minute."
)
NOT_AN_INCIDENT_CHANNEL = (
    "This is not an incident channel. Run it in the incident's channel, "
    "or see open incidents with `/incident list`."
)
