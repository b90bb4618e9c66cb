"""The evaluation platform: real conversations (the file transport, real models) over combinations of
providers and settings, scored on latency and quality, ranked, and reported (`vagus eval`)."""
