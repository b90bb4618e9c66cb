"""Vagus Studio: build, talk to, inspect and evaluate an agent in one local web app (`vagus studio`)."""
