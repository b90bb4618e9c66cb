"""Dialog context, sentence streaming and spoken-style shaping."""
