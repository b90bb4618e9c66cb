"""Ways audio gets in and out of a session: files, WebRTC (and later WebSocket and local devices)."""
