"""Audio sinks: where decoded Lyria audio is played (JACK now; sounddevice and WAV next).

Backends are imported lazily by name so that the core and most tests never load libjack.
"""
