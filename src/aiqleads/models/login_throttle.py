from __future__ import annotations

from datetime import datetime

from sqlalchemy import Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from aiqleads.db.base import Base, UTCDateTime


class LoginThrottle(Base):
    """Recent failed logins under one key: an e-mail named in a login (whether or not an
    account has it) or a client address. The key is an HMAC of the name under the secret key,
    so the table holds neither e-mails nor addresses. Rows are kept per name, never per
    account, so how a name is throttled says nothing about whether its account exists."""

    __tablename__ = "login_throttles"

    scope: Mapped[str] = mapped_column(String(8), primary_key=True)  # "account" or "ip"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)  # hex HMAC-SHA256
    failures: Mapped[int] = mapped_column(Integer)  # since the count was last forgotten
    last_failed_at: Mapped[datetime] = mapped_column(UTCDateTime, index=True)
    blocked_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
