"""Thin I/O adapters around the sans-I/O core: UDP, WebSocket, audio, and process helpers."""
