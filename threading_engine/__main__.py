"""``python -m threading_engine``: the same command line as the ``threading-engine`` script."""

from .cli import main

if __name__ == "__main__":
    raise SystemExit(main())
