"""The channels notices go out on, and the shapes of their messages.

Every message is a JSON object with a `type` and the time it was sent, `at` (ISO 8601, UTC):

Channel `account:{account_id}` (the account's internal id; only the server names channels, a
client is subscribed to its own account's channel by the WebSocket that authenticated it):

* `{"type": "hold_expiring", "lead_id": "<lead public id>", "held_until": "<ISO 8601>",
  "minutes_left": <number>, "at": …}`: once per hold (and once more after an extension) when
  less than AIQ_WORKER__HOLD_EXPIRING_MINUTES are left.
* `{"type": "hold_expired", "lead_id": "<lead public id>", "reason": "expired" | "lost",
  "at": …}`: the hold ended by time, or because the lead left the market while held.

* `{"type": "purchase_confirmed", "order_id": "<order public id>", "lead_ids": […], "at": …}`:
  an order was paid and its leads are the account's (`checkout.notify_purchase`).

Channel `market` (public ids only: the live socket, `aiqleads.notices.live`, forwards an id to
a client only after re-checking that lead against the client's own visibility — priority window,
statuses an agent may see — so nothing reaches an agent that its catalog would not show):

* `{"type": "leads_available", "lead_ids": ["<lead public id>", …], "at": …}`: leads back on
  the market: their holds lapsed (the sweeper) or were released (the cart, as the release commits).
* `{"type": "leads_held", "lead_ids": […], "at": …}`: leads someone just held
  (the cart, as the hold commits), so other agents' pages take them off their lists.
* `{"type": "leads_published", "lead_ids": […], "at": …}`: new leads stored
  (`leads.announce`); the socket tells an agent of those matching its saved search, as
  `new_leads`, once each is past the agent's priority window.
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
