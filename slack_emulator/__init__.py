"""A stateful Slack emulator (Web API + signed Events/interactivity deliveries) for testing incident-bot."""

from .delivery import Delivery
from .emulator import EmulatorError, SlackEmulator
from .spec import check_call, check_shape
from .state import Call

__all__ = ["Call", "Delivery", "EmulatorError", "SlackEmulator", "check_call", "check_shape"]
