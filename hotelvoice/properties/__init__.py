"""What the concierge knows about each hotel it answers for.

* ``model``: the ``Property`` and ``RoomType`` values (rooms, rates, policies, departments,
  time zone, voice);
* ``book``: the ``PropertyBook`` of every property by dialed number, loaded from the
  ``HOTELVOICE_PROPERTIES`` TOML file or built from the ``HOTEL_*`` settings.
"""

from __future__ import annotations
