"""Alert routes: Slack, PagerDuty Events v2, signed JSON webhook, Alertmanager v2 and SMTP email.

Build them from configuration with :func:`build_routes`; each route's ``deliver(notification)`` returns a
:class:`~llmmon.alerts.model.DeliveryResult` and never raises. Secrets are resolved at delivery, not here, so a
missing secret makes that route ``not_configured`` without stopping the others. See docs/alerts.md.
"""

from __future__ import annotations

from collections.abc import Iterable

from llmmon.alerts.model import Route
from llmmon.alerts.routes.alertmanager import AlertmanagerV2Route
from llmmon.alerts.routes.base import BaseRoute, RetryPolicy
from llmmon.alerts.routes.email import SmtpEmailRoute
from llmmon.alerts.routes.pagerduty import PagerDutyEventsRoute
from llmmon.alerts.routes.slack import SlackWebhookRoute
from llmmon.alerts.routes.webhook import SignedWebhookRoute, verify_signature
from llmmon.config import (
    AlertmanagerRoute,
    EmailRoute,
    PagerDutyRoute,
    RouteConfig,
    SecretResolver,
    SlackRoute,
    WebhookRoute,
)
from llmmon.errors import ConfigError

_ROUTE_CLASSES: dict[type, type[BaseRoute]] = {
    SlackRoute: SlackWebhookRoute,
    PagerDutyRoute: PagerDutyEventsRoute,
    WebhookRoute: SignedWebhookRoute,
    AlertmanagerRoute: AlertmanagerV2Route,
    EmailRoute: SmtpEmailRoute,
}


def build_route(config: RouteConfig, secrets: SecretResolver) -> Route:
    """The route described by ``config``; ``secrets`` is called at each delivery, never here."""
    cls = _ROUTE_CLASSES.get(type(config))
    if cls is None:
        known = ", ".join(sorted(c.__name__ for c in _ROUTE_CLASSES))
        raise ConfigError(f"route {getattr(config, 'name', '?')!r}: unsupported route type {type(config).__name__} "
                          f"(supported: {known})")
    return cls(config, secrets)


def build_routes(configs: Iterable[RouteConfig], secrets: SecretResolver) -> dict[str, Route]:
    """Every configured route by name (names are unique: the configuration loader checks it)."""
    routes: dict[str, Route] = {}
    for config in configs:
        if config.name in routes:
            raise ConfigError(f"route names must be unique; {config.name!r} is declared twice")
        routes[config.name] = build_route(config, secrets)
    return routes


__all__ = [
    "AlertmanagerV2Route",
    "PagerDutyEventsRoute",
    "RetryPolicy",
    "SignedWebhookRoute",
    "SlackWebhookRoute",
    "SmtpEmailRoute",
    "build_route",
    "build_routes",
    "verify_signature",
]
