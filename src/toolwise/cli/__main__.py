"""``python -m toolwise.cli``: the ``toolwise`` command without the installed script."""

from toolwise.cli import main

raise SystemExit(main())
