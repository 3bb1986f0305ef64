"""The optional model (``[assist]``): drafts a summary or a status update for a person to use,
edit or dismiss, and embeds incidents for "similar incidents". Off by default; nothing is sent
anywhere unless a team configures an endpoint."""
