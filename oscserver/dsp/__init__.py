"""Signal processing on numpy arrays: functions and small stateful objects, no I/O, no clock.

Each is tested with synthetic signals whose truth is known (a tone of known pitch, a click
track of known tempo). ``stretch`` changes the stream's speed and keeps its pitch; ``bridge``
loops the last bar through a gap; ``beats`` finds where the stream's beats are and ``bars``
which of them start a bar.
"""
