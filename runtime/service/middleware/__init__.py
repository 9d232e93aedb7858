"""Pure ASGI middlewares, one concern each, in the order a request meets them:
request id, access log, request metrics, security headers, limits, cancellation, body deadline."""

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
]
