"""The App Home tab: what is open (mine first), a Declare button, recent closes, this month."""
