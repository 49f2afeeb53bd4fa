"""oscserver: play Google's Lyria RealTime music model over OSC, with audio out on JACK.

Layout (see docs/architecture.md):

- :mod:`oscserver.core` - the sans-I/O core: address table, musical state, Lyria codec, session.
- :mod:`oscserver.adapters` - thin I/O around it: UDP, WebSocket client, audio sinks, jackd.
- :mod:`oscserver.engine` - the embedded Lyria-compatible engine (WebSocket server + synth).
- :mod:`oscserver.app` and :mod:`oscserver.cli` - wiring and the command line.
"""

__version__ = "0.1.0"
