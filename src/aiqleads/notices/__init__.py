"""Live notices: one publisher the web app's live updates subscribe to.

`publish(channel, message)` and `subscribe(channels)` on Redis pub/sub when AIQ_REDIS_URL is set
(every API worker's WebSocket clients get every notice, whichever process published it), and
fanned out in-process otherwise. Channels and message shapes: `aiqleads.notices.channels`.
"""

from aiqleads.notices.channels import MARKET, account_channel
from aiqleads.notices.publisher import InProcessNotices, Notices, RedisNotices, build_notices

__all__ = [
    "MARKET",
    "InProcessNotices",
    "Notices",
    "RedisNotices",
    "account_channel",
    "build_notices",
]
