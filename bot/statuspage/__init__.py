"""The public status page: components, public incidents and their updates, published from Slack."""
