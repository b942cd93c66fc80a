"""Security headers on every answer: a Content Security Policy, no MIME sniffing, no framing.

The web app loads only its own files (no CDN, no inline script or style), so its policy allows
'self' and nothing else; the API documentation pages (Swagger UI, ReDoc) start their bundle with
an inline script, so they alone may run inline code, still only from this origin.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from aiqleads.kit.asgi_headers import add_missing, raw_headers

APP_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:;"
    " font-src 'self'; connect-src 'self'; worker-src 'self' blob:; object-src 'none';"
    " base-uri 'self'; form-action 'self'; frame-ancestors 'none'"
)
DOCS_CSP = (
    "default-src 'self'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline';"
    " img-src 'self' data:; worker-src 'self' blob:; object-src 'none'; base-uri 'self';"
    " frame-ancestors 'none'"
)
DOCS_PATHS = ("/docs", "/redoc")

COMMON = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "no-referrer",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def _variant(csp: str, hsts: bool) -> dict[str, str]:
    headers = {**COMMON, "Content-Security-Policy": csp}
    if hsts:
        headers["Strict-Transport-Security"] = HSTS
    return headers


# Built once: (docs page?, over TLS?) → headers, and the same as ASGI's raw (lower-case name,
# value) byte pairs.
_VARIANTS = {
    (d, t): _variant(DOCS_CSP if d else APP_CSP, t) for d in (False, True) for t in (False, True)
}
_RAW_VARIANTS = {key: raw_headers(h) for key, h in _VARIANTS.items()}


def _is_docs(path: str) -> bool:
    return path in DOCS_PATHS or path.startswith("/docs/")


def headers_for(path: str, scheme: str) -> dict[str, str]:
    """The security headers of an answer to `path` (without root path) over `scheme`: a new
    dict the caller may change."""
    return dict(_VARIANTS[_is_docs(path), scheme in ("https", "wss")])


class SecurityHeadersMiddleware:
    """Adds `headers_for` to each HTTP answer, leaving any header a handler set itself."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        extra = _RAW_VARIANTS[
            _is_docs(scope["path"]), scope.get("scheme", "http") in ("https", "wss")
        ]

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                add_missing(message, extra)
            await send(message)

        await self.app(scope, receive, send_wrapper)
