"""The HTTP server: talk page, WebRTC signaling, health."""
