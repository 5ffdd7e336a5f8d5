"""``python -m fitsflow.cli``: the same as the ``fitsflow`` command."""

from . import main

main()
