"""Alerts: named metric series, rules with `for: k` and hysteresis, and the routes that deliver them.

- ``series``: metric series over warehouse results (one point per run or window)
- ``engine``: evaluates rules, persists pending/firing/resolved episodes and transitions, queues and retries deliveries
- ``defaults``: the shipped rules, merged with configured ones
- ``routes``: Slack, PagerDuty Events v2, signed webhook, Alertmanager v2, SMTP email
"""

from llmmon.alerts.model import DeliveryResult, Notification, Route

__all__ = ["DeliveryResult", "Notification", "Route"]
