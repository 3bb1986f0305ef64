"""Past incidents from elsewhere: ``incident-bot import slack-export`` records a channel's history
from a Slack workspace export through the timeline's own recording, then writes its document."""
