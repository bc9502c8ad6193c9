from __future__ import annotations

import sys

from hotelvoice.web.cli import main

sys.exit(main())
