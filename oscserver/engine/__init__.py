"""The embedded Lyria-compatible engine: a WebSocket server and the music it renders."""
