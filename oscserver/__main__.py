"""``python -m oscserver``: the same as the ``oscserver`` command."""

from oscserver.cli import main

if __name__ == "__main__":  # not when multiprocessing's spawn imports this module
    raise SystemExit(main())
