"""``python -m oscserver``: the same as the ``oscserver`` command."""

from oscserver.cli import main

raise SystemExit(main())
