from __future__ import annotations

import sys

from hotelvoice.cli import main

sys.exit(main())
