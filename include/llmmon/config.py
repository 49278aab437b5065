"""Typed configuration: one YAML file, loaded and validated once, with errors that name file, key and reason.

Where the file comes from, in order: the ``path`` argument, the ``LLMMON_CONFIG`` environment variable, the
embedded defaults shipped with the package (``llmmon/defaults/llmmon.yaml``). String values may reference the
environment as ``${VAR}`` or ``${VAR:-default}``. Relative paths resolve against the config file's folder, or, for
the embedded defaults, against ``LLMMON_HOME`` (else the current directory).
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from llmmon.drift_config import DriftConfig
from llmmon.errors import ConfigError
from llmmon.judge_config import JudgeConfig
from llmmon.quality_config import QualityConfig
from llmmon.retrieval_config import RetrievalConfig
from llmmon.slo_config import SloConfig
from llmmon.traffic_config import TrafficConfig
from llmmon.yamlio import parse_yaml

CONFIG_ENV = "LLMMON_CONFIG"
HOME_ENV = "LLMMON_HOME"
DEFAULTS_PATH = Path(__file__).parent / "defaults" / "llmmon.yaml"

_ENV_REF = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SecretRef(_Strict):
    """Where a secret comes from: an environment variable or an Airflow connection (never the file itself)."""

    env: str | None = None
    airflow_connection: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> SecretRef:
        if (self.env is None) == (self.airflow_connection is None):
            raise ValueError("give exactly one of 'env' or 'airflow_connection'")
        return self

    def describe(self) -> str:
        return f"env:{self.env}" if self.env else f"airflow_connection:{self.airflow_connection}"


class EndpointConfig(_Strict):
    """An OpenAI-compatible endpoint: where it is, which model it serves, how hard to push it."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    base_url: str
    model: str
    model_version: str = "unversioned"
    api_key: SecretRef | None = None
    stream: bool = True
    timeout_s: Annotated[float, Field(gt=0)] = 30.0
    max_concurrency: Annotated[int, Field(ge=1, le=1024)] = 16
    max_retries: Annotated[int, Field(ge=0, le=20)] = 4
    backoff_base_s: Annotated[float, Field(ge=0)] = 0.5
    backoff_max_s: Annotated[float, Field(gt=0)] = 20.0
    max_tokens: Annotated[int, Field(ge=1)] = 512
    temperature: Annotated[float, Field(ge=0, le=2)] = 0.0

    @field_validator("base_url")
    @classmethod
    def _http_url(cls, v: str) -> str:
        if not re.match(r"^https?://[^/\s]+", v):
            raise ValueError("must be an http(s) URL such as http://127.0.0.1:8765/v1")
        return v.rstrip("/")


class Price(_Strict):
    """USD per million tokens for one model id, effective from a date (the latest effective entry wins)."""

    model: str
    input_per_mtok: Annotated[float, Field(ge=0)]
    output_per_mtok: Annotated[float, Field(ge=0)]
    effective_from: dt.date


class Thresholds(_Strict):
    """How a golden-set run is judged against its baseline (see docs/verdicts.md).

    A slice regresses when its paired test is significant at ``alpha`` (after the multiple-comparison
    ``correction`` across intents) AND its pass-rate drop is at least the effect-size floor (``min_effect`` overall,
    ``intent_min_effect`` per intent): significance alone flags harmless changes on big sets, a fixed drop alone
    cries wolf on small ones.
    """

    # 0.15, not 0.05: with the pooled baseline and ``for: 2`` it is the measured setting that keeps <= 1 false alert
    # per 90 days of a stable model and catches a 10-point drop as fast as the fair naive rule (docs/verdicts.md).
    alpha: Annotated[float, Field(gt=0, lt=1)] = 0.15
    correction: Literal["holm", "bh"] = "holm"
    min_effect: Annotated[float, Field(ge=0, le=1)] = 0.02
    intent_min_effect: Annotated[float, Field(ge=0, le=1)] = 0.05
    min_examples: Annotated[int, Field(ge=1)] = 30
    min_intent_examples: Annotated[int, Field(ge=1)] = 10
    confidence: Annotated[float, Field(gt=0, lt=1)] = 0.95
    bootstrap_resamples: Annotated[int, Field(ge=100, le=100_000)] = 2000
    power: Annotated[float, Field(gt=0, lt=1)] = 0.8
    error_budget: Annotated[float, Field(ge=0, le=1)] = 0.05
    # The baseline pools the last N successful runs of the previous version: one lucky or unlucky run no longer
    # skews every later verdict the same way (docs/verdicts.md, the study).
    baseline_runs: Annotated[int, Field(ge=1, le=20)] = 3


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$")


def parse_duration(value: object) -> dt.timedelta:
    """``"90s"``, ``"30m"``, ``"4h"``, ``"1d"`` or a number of seconds, as a timedelta."""
    if isinstance(value, dt.timedelta):
        return value
    if isinstance(value, int | float) and not isinstance(value, bool):
        return dt.timedelta(seconds=float(value))
    m = _DURATION.match(str(value))
    if not m:
        raise ValueError(f"{value!r} is not a duration like 90s, 30m, 4h or 1d")
    n, unit = float(m.group(1)), m.group(2)
    return dt.timedelta(seconds=n * {"s": 1, "m": 60, "h": 3600, "d": 86400}[unit])


Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration)]


def parse_aware_time(text: str, what: str) -> dt.datetime:
    """An ISO 8601 time with a UTC offset (a command-line bound such as ``--until``). Raises ConfigError naming
    ``what``: a time without an offset is refused, since guessing its zone shifts every window silently."""
    try:
        value = dt.datetime.fromisoformat(text)
    except ValueError:
        raise ConfigError(f"{what}: {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise ConfigError(f"{what}: {text!r} needs a time zone, e.g. 2026-11-28T00:00:00+00:00")
    return value


class _Route(_Strict):
    """Common settings of an alert route: a name rules refer to, and delivery retries."""

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    timeout_s: Annotated[float, Field(gt=0)] = 10.0
    max_attempts: Annotated[int, Field(ge=1, le=10)] = 3
    backoff_s: Annotated[float, Field(ge=0)] = 1.0


class SlackRoute(_Route):
    """Slack incoming webhook (the URL is the secret)."""

    type: Literal["slack"]
    webhook_url: SecretRef


class PagerDutyRoute(_Route):
    """PagerDuty Events API v2: trigger and resolve with the same dedup key."""

    type: Literal["pagerduty"]
    routing_key: SecretRef
    url: str = "https://events.pagerduty.com/v2/enqueue"


class WebhookRoute(_Route):
    """Generic JSON webhook, signed with HMAC-SHA256 when a signing secret is given."""

    type: Literal["webhook"]
    url: SecretRef
    hmac_secret: SecretRef | None = None


class AlertmanagerRoute(_Route):
    """Prometheus Alertmanager v2 API (``POST /api/v2/alerts``)."""

    type: Literal["alertmanager"]
    url: str  # base URL, e.g. http://alertmanager:9093
    username: str | None = None
    password: SecretRef | None = None


class EmailRoute(_Route):
    """Email over SMTP (STARTTLS by default, or implicit TLS)."""

    type: Literal["email"]
    host: str
    port: Annotated[int, Field(ge=1, le=65535)] = 587
    security: Literal["starttls", "tls", "none"] = "starttls"
    username: str | None = None
    password: SecretRef | None = None
    sender: str
    recipients: Annotated[list[str], Field(min_length=1)]


RouteConfig = Annotated[
    SlackRoute | PagerDutyRoute | WebhookRoute | AlertmanagerRoute | EmailRoute, Field(discriminator="type")
]

Op = Literal[">", ">=", "<", "<=", "==", "!="]


class Condition(_Strict):
    """``value <op> threshold``."""

    op: Op
    value: float


class AlertRule(_Strict):
    """A rule over a named metric series: fire after ``for`` consecutive breaching windows or runs.

    ``resolve`` (default: the negation of ``condition``) gives hysteresis: between the two the state holds.
    ``where`` filters the series by label (e.g. ``{endpoint: prod}``).
    """

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)

    name: Annotated[str, Field(pattern=r"^[A-Za-z0-9_.-]+$")]
    metric: str
    where: dict[str, str] = {}
    condition: Condition
    resolve: Condition | None = None
    for_: Annotated[int, Field(ge=1, le=100, alias="for")] = 2
    severity: Literal["critical", "warning", "info"] = "warning"
    labels: dict[str, str] = {}
    routes: list[str] = []
    renotify: Duration | None = dt.timedelta(hours=4)
    description: str = ""


class AlertsConfig(_Strict):
    """Alert settings shared by all rules: routes for rules (shipped defaults included) that name none."""

    default_routes: list[str] = []


class AirflowAlertsConfig(_Strict):
    """Where Airflow-level failures go: failed tasks and DAG runs, and missed deadlines of the daily eval."""

    routes: list[str] = []
    severity: Literal["critical", "warning", "info"] = "warning"


class WarehouseConfig(_Strict):
    url: str = "sqlite:///.llmmon/warehouse.db"


class EvalConfig(_Strict):
    """How a golden-set eval is run."""

    shards: Annotated[int, Field(ge=1, le=1024)] = 4
    progress_interval_s: Annotated[float, Field(gt=0)] = 10.0


class Settings(_Strict):
    """The whole llmmon configuration."""

    warehouse: WarehouseConfig = WarehouseConfig()
    golden_sets_dir: str = "golden_sets"
    default_suite: str = "customer_support"
    default_endpoint: str | None = None
    endpoints: list[EndpointConfig]
    prices: list[Price] = []
    thresholds: Thresholds = Thresholds()
    alerts: AlertsConfig = AlertsConfig()
    routes: list[RouteConfig] = []
    alert_rules: list[AlertRule] = []
    airflow_alerts: AirflowAlertsConfig = AirflowAlertsConfig()
    traffic: TrafficConfig = TrafficConfig()
    judge: JudgeConfig = JudgeConfig()
    quality: QualityConfig = QualityConfig()
    drift: DriftConfig = DriftConfig()
    retrieval: RetrievalConfig = RetrievalConfig()
    slo: SloConfig = SloConfig()
    eval: EvalConfig = EvalConfig()
    source: str = Field(default="<memory>", exclude=True)

    @model_validator(mode="after")
    def _consistent(self) -> Settings:
        names = [e.name for e in self.endpoints]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"endpoint names must be unique; repeated: {', '.join(dupes)}")
        if not self.endpoints:
            raise ValueError("declare at least one endpoint")
        if self.default_endpoint is not None and self.default_endpoint not in names:
            raise ValueError(f"default_endpoint {self.default_endpoint!r} is not one of the endpoints: {names}")
        route_names = [r.name for r in self.routes]
        dupes = sorted({n for n in route_names if route_names.count(n) > 1})
        if dupes:
            raise ValueError(f"route names must be unique; repeated: {', '.join(dupes)}")
        for i, rule in enumerate(self.alert_rules):
            unknown = [r for r in rule.routes if r not in route_names]
            if unknown:
                raise ValueError(f"alert_rules.{i} ({rule.name}): unknown route(s) {unknown}; routes: {route_names}")
        unknown = [r for r in self.alerts.default_routes if r not in route_names]
        if unknown:
            raise ValueError(f"alerts.default_routes: unknown route(s) {unknown}; routes: {route_names}")
        unknown = [r for r in self.airflow_alerts.routes if r not in route_names]
        if unknown:
            raise ValueError(f"airflow_alerts: unknown route(s) {unknown}; routes: {route_names}")
        seen = set()
        for p in self.prices:
            if (p.model, p.effective_from) in seen:
                raise ValueError(f"prices: model {p.model!r} has two entries effective {p.effective_from}")
            seen.add((p.model, p.effective_from))
        return self

    def endpoint(self, name: str | None = None) -> EndpointConfig:
        """The endpoint called ``name`` (default: ``default_endpoint`` or the first one)."""
        name = name or self.default_endpoint or self.endpoints[0].name
        for e in self.endpoints:
            if e.name == name:
                return e
        known = ", ".join(e.name for e in self.endpoints)
        raise ConfigError(f"unknown endpoint {name!r} (configured in {self.source}: {known})")


def _expand_env(value: object, env: dict[str, str]) -> object:
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            name, default = m.group(1), m.group(2)
            if name in env:
                return env[name]
            if default is not None:
                return default
            raise KeyError(name)
        return _ENV_REF.sub(sub, value)
    if isinstance(value, dict):
        return {k: _expand_env(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [_expand_env(v, env) for v in value]
    return value


def _format_validation_error(source: str, err: ValidationError) -> str:
    lines = [f"invalid llmmon configuration in {source}:"]
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "<top level>"
        msg = e["msg"].removeprefix("Value error, ")
        lines.append(f"  {source}: key '{key}': {msg}")
    return "\n".join(lines)


def _resolve_path(value: str, base: Path) -> str:
    p = Path(value).expanduser()
    return str(p if p.is_absolute() else (base / p))


def _resolve_sqlite_url(url: str, base: Path) -> str:
    # sqlite:///relative/path.db -> absolute, so every process (worker, CLI, test) means the same file.
    prefix = "sqlite:///"
    if url.startswith(prefix) and not url.startswith(prefix + "/") and url != "sqlite://" and ":memory:" not in url:
        return prefix + _resolve_path(url[len(prefix):], base)
    return url


def config_path(path: str | os.PathLike[str] | None = None) -> Path:
    """The configuration file that :func:`load_settings` would read."""
    if path is not None:
        return Path(path)
    env_path = os.environ.get(CONFIG_ENV)
    return Path(env_path) if env_path else DEFAULTS_PATH


def load_settings(path: str | os.PathLike[str] | None = None, env: dict[str, str] | None = None) -> Settings:
    """Load and validate the configuration; raise :class:`ConfigError` naming file, key and reason."""
    env = dict(os.environ if env is None else env)
    file = config_path(path) if path is not None or CONFIG_ENV not in env else Path(env[CONFIG_ENV])
    source = str(file)
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        hint = f" (set by {CONFIG_ENV})" if path is None and CONFIG_ENV in env else ""
        raise ConfigError(f"configuration file {source}{hint} does not exist") from None
    except OSError as exc:
        raise ConfigError(f"configuration file {source} cannot be read: {exc}") from None
    raw = parse_yaml(text, f"configuration file {source}", ConfigError)
    if not isinstance(raw, dict):
        raise ConfigError(f"configuration file {source}: the top level must be a mapping of keys")
    try:
        raw = _expand_env(raw, env)
    except KeyError as exc:
        raise ConfigError(
            f"configuration file {source}: environment variable {exc.args[0]} is referenced but not set "
            "(use ${VAR:-default} to give a default)"
        ) from None

    base = file.parent if file != DEFAULTS_PATH else Path(env.get(HOME_ENV) or os.getcwd())
    try:
        settings = Settings.model_validate({**raw, "source": source})
    except ValidationError as exc:
        raise ConfigError(_format_validation_error(source, exc)) from None
    from llmmon.alerts.defaults import rules_from_settings  # here: the series registry imports sqlalchemy

    try:
        rules_from_settings(settings)
    except ConfigError as exc:
        raise ConfigError(f"configuration file {source}: {exc}") from None
    return settings.model_copy(
        update={
            "golden_sets_dir": _resolve_path(settings.golden_sets_dir, base),
            "warehouse": WarehouseConfig(url=_resolve_sqlite_url(settings.warehouse.url, base)),
        }
    )


SecretResolver = Callable[[SecretRef], str]


def env_secret_resolver(env: dict[str, str] | None = None) -> SecretResolver:
    """Resolve secrets from the environment only; Airflow connections are read as ``AIRFLOW_CONN_<ID>``.

    Inside Airflow, ``plugins/llmmon_airflow`` supplies a resolver backed by Airflow's connection API instead.
    For a connection, the secret is its password, or its full URL for HTTP-style connections with no password.
    """
    source = os.environ if env is None else env

    def resolve(ref: SecretRef) -> str:
        if ref.env is not None:
            value = source.get(ref.env)
            if not value:
                raise ConfigError(f"secret {ref.describe()}: environment variable {ref.env} is not set")
            return value
        var = f"AIRFLOW_CONN_{ref.airflow_connection.upper()}"
        value = source.get(var)
        if not value:
            raise ConfigError(
                f"secret {ref.describe()}: no Airflow connection available outside Airflow "
                f"(looked in environment variable {var})"
            )
        return connection_secret_from_uri(value)

    return resolve


def connection_secret_from_uri(value: str) -> str:
    """The secret held by an Airflow connection given as URI or JSON: its password, else its URL."""
    import json
    from urllib.parse import unquote, urlsplit

    if value.lstrip().startswith("{"):
        data = json.loads(value)
        if data.get("password"):
            return str(data["password"])
        extra = data.get("extra") or {}
        if isinstance(extra, str):
            extra = json.loads(extra or "{}")
        if extra.get("url"):
            return str(extra["url"])
        host = data.get("host") or ""
        return str(host)
    parts = urlsplit(value)
    if parts.password:
        return unquote(parts.password)
    return value


Stage = Literal["daily", "deploy", "canary", "shadow", "manual"]
