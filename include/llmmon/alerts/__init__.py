"""Alerts: records built from verdicts, and the routes that deliver them."""

from llmmon.alerts.golden import alerts_from_verdict
from llmmon.alerts.webhook import DeliveryResult, post_webhook

__all__ = ["DeliveryResult", "alerts_from_verdict", "post_webhook"]
