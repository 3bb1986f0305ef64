"""Follow-ups: action items become tickets in GitHub Issues or Jira, with their state in the record."""
