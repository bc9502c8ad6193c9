"""One phone call: the sans-IO core that decides and the Trio glue that acts.

* ``machine``: the call's states and transitions, as a table (``CallMachine``);
* ``session``: ``CallSession``, events in, actions out; owns machine, ledger and stats;
* ``ledger``: what the caller heard of each model item (Twilio marks → milliseconds);
* ``ports``: what a call needs from the layers above (model backend, tools, observer);
* ``bridge``: one nursery per call, its tasks, and the sockets they own;
* ``diagrams``: the operators' state diagram, rendered from the machine's table.
"""

from __future__ import annotations
