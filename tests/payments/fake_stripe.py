"""A local stand-in for Stripe's API on 127.0.0.1, answering in Stripe's shapes.

Enough of the API for the gateway: `POST /v1/payment_intents` (confirm=true with a test
PaymentMethod), `GET /v1/payment_intents/{id}`, `POST /v1/refunds`. Requests are form-encoded
with bracketed nested keys (`metadata[order]=7`), as the `stripe` package sends them; answers and
errors follow the API reference ("Errors": `type`, `code`, `decline_code`, `message`, `param`,
HTTP 402 for card errors with the declined PaymentIntent inside, 400/404 for invalid requests,
401 for a bad key). The `Idempotency-Key` header is honoured as Stripe does: the first answer to
a key is saved and replayed (with `Idempotent-Replayed: true`), and the same key with other
parameters, or on another endpoint, is an `idempotency_error`. Faults can be injected: a 500
before any work, or a connection dropped before or after the work is done.

Test PaymentMethods (Stripe's "Testing" page): `pm_card_visa` succeeds,
`pm_card_chargeDeclined` is declined (card_declined / generic_decline),
`pm_card_authenticationRequired` needs 3-D Secure (requires_action); any other id is a
resource_missing error. `complete_action` plays the buyer finishing 3-D Secure.
"""

from __future__ import annotations

import hashlib
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qsl, urlsplit

API_KEY = "sk_test_fake_0123456789"
WEBHOOK_SECRET = "whsec_fake_0123456789"
API_VERSION = "2026-01-01.fake"

SUCCESS = "pm_card_visa"
DECLINE = "pm_card_chargeDeclined"
REQUIRES_ACTION = "pm_card_authenticationRequired"


class Fault(StrEnum):
    SERVER_ERROR = "server_error"  # HTTP 500 before any work: nothing done, nothing saved
    DROP_BEFORE = "drop_before"  # connection closed before any work: nothing done
    DROP_AFTER = "drop_after"  # the work is done and saved, then the connection is closed


class _ApiError(Exception):
    def __init__(self, status: int, error: dict[str, Any]) -> None:
        super().__init__(error.get("message"))
        self.status = status
        self.error = error


def _invalid(message: str, *, code: str | None = None, param: str | None = None) -> _ApiError:
    error: dict[str, Any] = {"type": "invalid_request_error", "message": message}
    if code:
        error["code"] = code
        error["doc_url"] = f"https://stripe.com/docs/error-codes/{code.replace('_', '-')}"
    if param:
        error["param"] = param
    return _ApiError(400, error)


def _new_id(prefix: str) -> str:
    return f"{prefix}_{secrets.token_hex(12)}"


def _unflatten(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    """`a[b]=1&a[c]=2&x=3` → {"a": {"b": "1", "c": "2"}, "x": "3"} (one level: enough here)."""
    out: dict[str, Any] = {}
    for key, value in pairs:
        if "[" in key and key.endswith("]"):
            outer, inner = key[:-1].split("[", 1)
            out.setdefault(outer, {})[inner] = value
        else:
            out[key] = value
    return out


@dataclass
class _Saved:
    endpoint: str
    fingerprint: str
    status: int
    body: bytes


@dataclass
class FakeStripe:
    """The fake's state; `url` is its API base once started."""

    api_key: str = API_KEY
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    requests: list[tuple[str, str, str | None]] = field(default_factory=list)  # method, path, key
    _saved: dict[str, _Saved] = field(default_factory=dict)
    _faults: list[Fault] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _server: ThreadingHTTPServer | None = None
    _thread: threading.Thread | None = None

    # --- control ---

    @property
    def url(self) -> str:
        assert self._server is not None, "not started"
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def start(self) -> None:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                fake._handle(self, "GET")

            def do_POST(self) -> None:
                fake._handle(self, "POST")

            def log_message(self, format: str, *args: Any) -> None:  # quiet
                return

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def reset(self) -> None:
        with self._lock:
            self.intents.clear()
            self.refunds.clear()
            self.requests.clear()
            self._saved.clear()
            self._faults.clear()

    def fail_next(self, fault: Fault, times: int = 1) -> None:
        """The next `times` API requests meet `fault`."""
        with self._lock:
            self._faults.extend([fault] * times)

    def charged(self) -> list[str]:
        """Ids of the PaymentIntents that took money."""
        with self._lock:
            return [i["id"] for i in self.intents.values() if i["status"] == "succeeded"]

    def complete_action(self, intent_id: str, *, succeed: bool = True) -> None:
        """The buyer finished (or failed) 3-D Secure on a requires_action intent."""
        with self._lock:
            intent = self.intents[intent_id]
            assert intent["status"] == "requires_action"
            intent["next_action"] = None
            if succeed:
                self._charge(intent)
            else:
                intent["status"] = "requires_payment_method"
                intent["last_payment_error"] = {
                    "type": "invalid_request_error",
                    "code": "payment_intent_authentication_failure",
                    "message": "The provided payment method has failed authentication.",
                }

    def event(self, event_type: str, obj: dict[str, Any], *, event_id: str | None = None) -> bytes:
        """A webhook body (an Event object) as Stripe would post it, not yet signed."""
        body = {
            "id": event_id or _new_id("evt"),
            "object": "event",
            "api_version": API_VERSION,
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        return json.dumps(body).encode("utf-8")

    # --- the API ---

    def _handle(self, handler: BaseHTTPRequestHandler, method: str) -> None:
        length = int(handler.headers.get("Content-Length") or 0)
        raw = handler.rfile.read(length).decode("utf-8") if length else ""
        url = urlsplit(handler.path)
        pairs = parse_qsl(raw if method == "POST" else url.query, keep_blank_values=True)
        key = handler.headers.get("Idempotency-Key") if method == "POST" else None
        endpoint = f"{method} {url.path}"
        with self._lock:
            self.requests.append((method, url.path, key))
            fault = self._faults.pop(0) if self._faults else None
            if fault is Fault.DROP_BEFORE:
                handler.close_connection = True
                return
            if fault is Fault.SERVER_ERROR:
                error = {"type": "api_error", "message": "An unknown error occurred"}
                self._send(handler, 500, {"error": error})
                return
            if handler.headers.get("Authorization") != f"Bearer {self.api_key}":
                error = {"type": "invalid_request_error", "message": "Invalid API Key provided"}
                self._send(handler, 401, {"error": error})
                return
            fingerprint = hashlib.sha256(json.dumps(sorted(pairs)).encode("utf-8")).hexdigest()
            saved = self._saved.get(key) if key else None
            if saved is not None:
                if saved.endpoint != endpoint or saved.fingerprint != fingerprint:
                    error = {
                        "type": "idempotency_error",
                        "message": (
                            "Keys for idempotent requests can only be used with the same"
                            " parameters they were first used with. Try using a key other"
                            f" than '{key}' if you meant to execute a different request."
                        ),
                    }
                    self._send(handler, 400, {"error": error})
                    return
                if fault is not Fault.DROP_AFTER:
                    self._send_raw(handler, saved.status, saved.body, replayed=True)
                return
            params = _unflatten(pairs)
            try:
                status, answer = self._route(method, url.path, params)
            except _ApiError as exc:
                status, answer = exc.status, {"error": exc.error}
                # Stripe saves a result only once an endpoint started executing: not for
                # requests refused by validation.
                if exc.status != 402:
                    key = None
            body = json.dumps(answer).encode("utf-8")
            if key:
                self._saved[key] = _Saved(endpoint, fingerprint, status, body)
            if fault is Fault.DROP_AFTER:
                handler.close_connection = True
                return
            self._send_raw(handler, status, body)

    def _route(self, method: str, path: str, params: dict[str, Any]) -> tuple[int, Any]:
        parts = path.strip("/").split("/")
        if method == "POST" and parts == ["v1", "payment_intents"]:
            return 200, self._create_intent(params)
        if method == "GET" and len(parts) == 3 and parts[:2] == ["v1", "payment_intents"]:
            intent = self.intents.get(parts[2])
            if intent is None:
                error = {
                    "type": "invalid_request_error",
                    "code": "resource_missing",
                    "param": "intent",
                    "message": f"No such payment_intent: '{parts[2]}'",
                }
                raise _ApiError(404, error)
            return 200, intent
        if method == "POST" and parts == ["v1", "refunds"]:
            return 200, self._create_refund(params)
        raise _ApiError(
            404,
            {"type": "invalid_request_error", "message": f"Unrecognized request URL ({path})."},
        )

    def _create_intent(self, params: dict[str, Any]) -> dict[str, Any]:
        try:
            amount = int(params.get("amount", ""))
        except ValueError:
            raise _invalid("Missing required param: amount.", param="amount") from None
        if amount < 50:
            raise _invalid(
                "Amount must be at least $0.50 usd", code="amount_too_small", param="amount"
            )
        currency = params.get("currency", "")
        if len(currency) != 3 or currency != currency.lower():
            raise _invalid(f"Invalid currency: {currency}.", param="currency")
        if params.get("confirm") != "true":
            raise _invalid("This fake only creates intents with confirm=true.", param="confirm")
        method = params.get("payment_method", "")
        if method not in (SUCCESS, DECLINE, REQUIRES_ACTION):
            raise _invalid(
                f"No such PaymentMethod: '{method}'",
                code="resource_missing",
                param="payment_method",
            )
        intent_id = _new_id("pi")
        intent: dict[str, Any] = {
            "id": intent_id,
            "object": "payment_intent",
            "amount": amount,
            "amount_received": 0,
            "automatic_payment_methods": params.get("automatic_payment_methods"),
            "capture_method": "automatic_async",
            "client_secret": f"{intent_id}_secret_{secrets.token_hex(10)}",
            "confirmation_method": "automatic",
            "created": int(time.time()),
            "currency": currency,
            "description": params.get("description"),
            "last_payment_error": None,
            "latest_charge": None,
            "livemode": False,
            "metadata": params.get("metadata", {}),
            "next_action": None,
            "payment_method": method,
            "payment_method_types": ["card"],
            "status": "requires_payment_method",
        }
        self.intents[intent_id] = intent
        if method == SUCCESS:
            self._charge(intent)
        elif method == REQUIRES_ACTION:
            intent["status"] = "requires_action"
            intent["next_action"] = {
                "type": "use_stripe_sdk",
                "use_stripe_sdk": {"type": "three_d_secure_redirect", "stripe_js": "…"},
            }
        else:
            charge = _new_id("ch")
            error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": "generic_decline",
                "doc_url": "https://stripe.com/docs/error-codes/card-declined",
                "message": "Your card was declined.",
                "charge": charge,
            }
            intent["latest_charge"] = charge
            intent["last_payment_error"] = dict(error, payment_method={"id": method})
            raise _ApiError(402, dict(error, payment_intent=intent))
        return intent

    def _charge(self, intent: dict[str, Any]) -> None:
        intent["status"] = "succeeded"
        intent["amount_received"] = intent["amount"]
        intent["latest_charge"] = _new_id("ch")

    def _create_refund(self, params: dict[str, Any]) -> dict[str, Any]:
        intent_id = params.get("payment_intent", "")
        intent = self.intents.get(intent_id)
        if intent is None:
            raise _invalid(
                f"No such payment_intent: '{intent_id}'",
                code="resource_missing",
                param="payment_intent",
            )
        if intent["status"] != "succeeded":
            raise _invalid(
                "This PaymentIntent does not have a successful charge to refund.",
                code="payment_intent_unexpected_state",
            )
        refunded = sum(
            r["amount"] for r in self.refunds.values() if r["payment_intent"] == intent_id
        )
        left = intent["amount"] - refunded
        amount = int(params.get("amount") or left)
        if left == 0:
            raise _invalid(
                f"Charge {intent['latest_charge']} has already been refunded.",
                code="charge_already_refunded",
            )
        if amount > left:
            raise _invalid(
                f"Refund amount (${amount / 100:.2f}) is greater than unrefunded amount on"
                f" charge (${left / 100:.2f})",
                code="amount_too_large",
                param="amount",
            )
        refund_id = _new_id("re")
        refund = {
            "id": refund_id,
            "object": "refund",
            "amount": amount,
            "balance_transaction": _new_id("txn"),
            "charge": intent["latest_charge"],
            "created": int(time.time()),
            "currency": intent["currency"],
            "metadata": params.get("metadata", {}),
            "payment_intent": intent_id,
            "reason": params.get("reason"),
            "status": "succeeded",
        }
        self.refunds[refund_id] = refund
        return refund

    def _send(self, handler: BaseHTTPRequestHandler, status: int, answer: Any) -> None:
        self._send_raw(handler, status, json.dumps(answer).encode("utf-8"))

    def _send_raw(
        self, handler: BaseHTTPRequestHandler, status: int, body: bytes, *, replayed: bool = False
    ) -> None:
        handler.send_response(status)
        handler.send_header("Content-Type", "application/json")
        handler.send_header("Content-Length", str(len(body)))
        handler.send_header("Request-Id", _new_id("req"))
        handler.send_header("Stripe-Version", API_VERSION)
        if replayed:
            handler.send_header("Idempotent-Replayed", "true")
        handler.end_headers()
        handler.wfile.write(body)
