"""Shared model serving for many nodes (`vagus pool`, the `pool` extra): models that are costly per
node — a GPU's worth of speech to text — served once, behind an OpenAI-compatible endpoint that every
node's provider calls like any other, with requests from all sessions of all nodes batched together.
"""
