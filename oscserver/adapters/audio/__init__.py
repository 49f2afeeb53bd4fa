"""Audio outputs: where the decoded stream is played.

- :mod:`.outputs` chooses and opens one (``--output``), with an optional :mod:`.wav_recorder`;
- :mod:`.base` is the interface and the event-loop side shared by ring-fed sinks;
- :mod:`.shared`, :mod:`.ring` and :mod:`.playout` are what the audio callback runs on;
- :mod:`.jack_sink` + :mod:`.jack_process` (the callback in a real-time process),
  :mod:`.sounddevice_sink` (PortAudio) and :mod:`.null_sink` are the backends;
- :mod:`.resample` converts to the device's rate with soxr.

Backends are imported only when chosen, so the core and most tests never load libjack.
"""
