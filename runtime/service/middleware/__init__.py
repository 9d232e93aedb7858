"""Pure ASGI middlewares, one concern each, in the order a request meets them:
request id, access log, request metrics, security headers, limits, cancellation, body deadline."""

from collections.abc import Iterable

from starlette.middleware import Middleware

from runtime.service.metrics import Metrics
from runtime.service.middleware.access_log import AccessLogMiddleware
from runtime.service.middleware.body_deadline import BodyDeadlineMiddleware
from runtime.service.middleware.cancellation import CancellationMiddleware
from runtime.service.middleware.limits import Capacity, LimitsMiddleware
from runtime.service.middleware.request_id import RequestIdMiddleware
from runtime.service.middleware.request_metrics import RequestMetricsMiddleware
from runtime.service.middleware.security_headers import SecurityHeadersMiddleware

__all__ = [
    "AccessLogMiddleware",
    "BodyDeadlineMiddleware",
    "CancellationMiddleware",
    "Capacity",
    "LimitsMiddleware",
    "RequestIdMiddleware",
    "RequestMetricsMiddleware",
    "SecurityHeadersMiddleware",
    "service_middleware",
]


def service_middleware(metrics: Metrics, capacity: Capacity, paths: Iterable[str],
                       max_body_bytes: int, body_seconds: float) -> list[Middleware]:
    """The service's middlewares, outermost first."""
    return [
        Middleware(RequestIdMiddleware),
        Middleware(AccessLogMiddleware),
        Middleware(RequestMetricsMiddleware, metrics=metrics, paths=paths),
        Middleware(SecurityHeadersMiddleware),
        Middleware(LimitsMiddleware, max_body_bytes=max_body_bytes, capacity=capacity),
        Middleware(CancellationMiddleware),
        Middleware(BodyDeadlineMiddleware, seconds=body_seconds),  # frees its slot in time
    ]
