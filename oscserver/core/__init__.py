"""The sans-I/O core: plain Python that never touches a socket, a clock or a thread.

- :mod:`~oscserver.core.addresses` - the OSC address table, the single source of truth;
- :mod:`~oscserver.core.state` - the musical state and what each message changes;
- :mod:`~oscserver.core.lyria` - the Lyria RealTime message codec;
- :mod:`~oscserver.core.session` - the session state machine (what to send when);
- :mod:`~oscserver.core.osc_codec` - OSC packets to plain values and back;
- :mod:`~oscserver.core.reference` - the generated address reference (docs/osc.md);
- :mod:`~oscserver.core.errors` and :mod:`~oscserver.core.secrets` - errors and redaction.
"""
