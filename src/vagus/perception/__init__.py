"""Perception: who speaks, whether it is meant for the agent, and how it is said."""
