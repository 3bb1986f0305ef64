"""Workflows: declarative rules (trigger, conditions, steps) run through the outbox."""
