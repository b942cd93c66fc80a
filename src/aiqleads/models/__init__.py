"""Every ORM table, one module each; importing this package registers them all."""

from aiqleads.models.account import Account
from aiqleads.models.api_key import ApiKey
from aiqleads.models.data_version import DataVersion
from aiqleads.models.lead import Lead
from aiqleads.models.purchase import Purchase
from aiqleads.models.refresh_token import RefreshToken

__all__ = ["Account", "ApiKey", "DataVersion", "Lead", "Purchase", "RefreshToken"]
