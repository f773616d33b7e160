"""``python -m local`` (``make dev``): the whole service on this machine until Ctrl-C."""

import sys

from local.stack import main

sys.exit(main())
