"""Every ORM table, one module each; importing this package registers them all."""

from aiqleads.models.account import Account
from aiqleads.models.agent_preference import AgentPreference
from aiqleads.models.api_key import ApiKey
from aiqleads.models.cart_lock import CartLock
from aiqleads.models.data_version import DataVersion
from aiqleads.models.experiment import Experiment
from aiqleads.models.experiment_exposure import ExperimentExposure
from aiqleads.models.feature_value import FeatureValue
from aiqleads.models.geo_office_tally import GeoOfficeTally
from aiqleads.models.geo_tally import GeoTally
from aiqleads.models.hold import Hold
from aiqleads.models.hold_notice import HoldNotice
from aiqleads.models.ingestion_run import IngestionRun
from aiqleads.models.lead import Lead
from aiqleads.models.lead_event import LeadEvent
from aiqleads.models.lead_price_history import LeadPriceHistory
from aiqleads.models.lead_return import LeadReturn
from aiqleads.models.lead_source import LeadSource
from aiqleads.models.lead_status_history import LeadStatusHistory
from aiqleads.models.ledger_entry import LedgerEntry
from aiqleads.models.login_throttle import LoginThrottle
from aiqleads.models.market_series import MarketSeries
from aiqleads.models.order import Order
from aiqleads.models.order_item import OrderItem
from aiqleads.models.payment_event import PaymentEvent
from aiqleads.models.purchase import Purchase
from aiqleads.models.quarantine import Quarantine
from aiqleads.models.recommendation_impression import RecommendationImpression
from aiqleads.models.recommender_model import RecommenderModelRow
from aiqleads.models.refresh_token import RefreshToken
from aiqleads.models.sandbox_payment import SandboxPayment
from aiqleads.models.sandbox_refund import SandboxRefund
from aiqleads.models.scoring_model import ScoringModelRow
from aiqleads.models.source_profile import SourceProfileRow
from aiqleads.models.task_outbox import TaskOutbox
from aiqleads.models.task_schedule import TaskSchedule
from aiqleads.models.tier_policy import TierPolicyRow
from aiqleads.models.webhook_delivery import WebhookDelivery
from aiqleads.models.webhook_endpoint import WebhookEndpoint

__all__ = [
    "Account",
    "AgentPreference",
    "ApiKey",
    "CartLock",
    "DataVersion",
    "Experiment",
    "ExperimentExposure",
    "FeatureValue",
    "GeoOfficeTally",
    "GeoTally",
    "Hold",
    "HoldNotice",
    "IngestionRun",
    "Lead",
    "LeadEvent",
    "LeadPriceHistory",
    "LeadReturn",
    "LeadSource",
    "LeadStatusHistory",
    "LedgerEntry",
    "LoginThrottle",
    "MarketSeries",
    "Order",
    "OrderItem",
    "PaymentEvent",
    "Purchase",
    "Quarantine",
    "RecommendationImpression",
    "RecommenderModelRow",
    "RefreshToken",
    "SandboxPayment",
    "SandboxRefund",
    "ScoringModelRow",
    "SourceProfileRow",
    "TaskOutbox",
    "TaskSchedule",
    "TierPolicyRow",
    "WebhookDelivery",
    "WebhookEndpoint",
]
