"""``python -m worker`` runs the same CLI as the ``article-worker`` console script."""

import sys

from worker.cli import main

sys.exit(main())
