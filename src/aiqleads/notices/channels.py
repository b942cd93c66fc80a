"""The channels notices go out on, and the shapes of their messages.

Every message is a JSON object with a `type` and the time it was sent, `at` (ISO 8601, UTC):

Channel `account:{account_id}` (the account's internal id; only the server names channels, a
client is subscribed to its own account's channel by the WebSocket that authenticated it):

* `{"type": "hold_expiring", "lead_id": "<lead public id>", "held_until": "<ISO 8601>",
  "minutes_left": <number>, "at": …}`: once per hold (and once more after an extension) when
  less than AIQ_WORKER__HOLD_EXPIRING_MINUTES are left.
* `{"type": "hold_expired", "lead_id": "<lead public id>", "reason": "expired" | "lost",
  "at": …}`: the hold ended by time, or because the lead left the market while held.

Channel `market` (public):

* `{"type": "leads_available", "lead_ids": ["<lead public id>", …], "at": …}`: leads back on
  the market after their holds lapsed. Only public ids: a WebSocket forwards an id to a client
  only after the client's own visibility check (priority window, disclosure rule).

Later producers (purchase confirmed, new matching leads) add types here.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

MARKET = "market"


def account_channel(account_id: int) -> str:
    """The channel of one account's notices."""
    return f"account:{account_id}"


def message(kind: str, *, at: datetime, **fields: Any) -> dict[str, Any]:
    """A notice: `{"type": kind, **fields, "at": ISO 8601}`."""
    return {"type": kind, **fields, "at": at.isoformat()}
