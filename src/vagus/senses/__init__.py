"""The ear's front end: voice activity detection (echo cancellation, denoise and gain come next)."""
