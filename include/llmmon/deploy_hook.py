"""The deploy hook: a release pipeline tells Airflow "this model, prompt or index just shipped".

It triggers the ``golden_eval`` DAG through Airflow 3's REST API with the new version as run conf. The DAG
records the deployment in the warehouse from that conf, so the pipeline needs Airflow credentials only, never
warehouse access. The call is safe to retry: the DAG run id is derived from the deployment itself, so a second
attempt for the same deployment finds the run the first one created (Airflow answers 409) and reports it.

Credentials come from the arguments or the environment: ``AIRFLOW_API_URL``, and ``AIRFLOW_API_TOKEN`` or
``AIRFLOW_USERNAME`` + ``AIRFLOW_PASSWORD`` (exchanged for a JWT at ``POST /auth/token``). Neither the password
nor the token ever appears in an error message or a log line.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args
from urllib.parse import quote

import httpx

from llmmon.config import Stage
from llmmon.errors import LlmmonError, RunConfError

log = logging.getLogger(__name__)

URL_ENV = "AIRFLOW_API_URL"
USERNAME_ENV = "AIRFLOW_USERNAME"
PASSWORD_ENV = "AIRFLOW_PASSWORD"  # noqa: S105 - the name of a variable, not a password
TOKEN_ENV = "AIRFLOW_API_TOKEN"  # noqa: S105 - the name of a variable, not a token

DEFAULT_DAG_ID = "golden_eval"
STAGES: tuple[str, ...] = get_args(Stage)
# Keys the hook itself puts in the conf; `extra` may not override them.
RESERVED_CONF_KEYS = ("endpoint", "model_version", "deploy_id", "stage", "model", "suite")
# Airflow keeps run ids in a 250-character column: with at most 56 characters a part, a run id is at most
# 6 (stage) + 3 * 56 + 4 * 2 (separators) + 12 (hash) = 194 characters.
MAX_PART_LEN = 56
# A run id part is kept verbatim only if it is made of these characters, with single underscores between
# runs of them: "__" separates the parts, so a part may neither contain it nor start or end with "_".
# Airflow refuses any run id containing ".." (path traversal guard).
_CLEAN_PART = re.compile(r"^(?!.*\.\.)[A-Za-z0-9.-]+(?:_[A-Za-z0-9.-]+)*$")
_UNSAFE = re.compile(r"[^A-Za-z0-9.-]+")
_DOTS = re.compile(r"\.{2,}")
_RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})


class DeployHookError(LlmmonError):
    """Airflow refused the trigger, or could not be reached; carries the HTTP status and Airflow's detail."""

    def __init__(self, message: str, *, status: int | None = None, detail: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.detail = detail


@dataclass(frozen=True)
class DeployRequest:
    """One deployment to evaluate: which endpoint now serves which version, and the release's own id.

    ``extra`` holds further run conf keys for the DAG (they may not reuse the names above).
    """

    endpoint: str
    model_version: str
    deploy_id: str
    stage: str = "deploy"
    model: str | None = None
    suite: str | None = None
    extra: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for name in ("endpoint", "model_version", "deploy_id"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value.strip():
                raise RunConfError(f"deploy request: field '{name}' must be a non-empty string, got {value!r}")
        if self.stage not in STAGES:
            raise RunConfError(f"deploy request: field 'stage' must be one of {list(STAGES)}, got {self.stage!r}")
        for name in ("model", "suite"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, str) or not value.strip()):
                raise RunConfError(f"deploy request: field '{name}' must be a non-empty string or omitted")
        clashes = sorted(set(self.extra) & set(RESERVED_CONF_KEYS))
        if clashes:
            raise RunConfError(
                f"deploy request: extra conf may not set {clashes}; use the request's own fields for them"
            )
        try:
            json.dumps(dict(self.extra))
        except (TypeError, ValueError) as exc:
            raise RunConfError(f"deploy request: extra conf must be JSON-serialisable: {exc}") from None


@dataclass(frozen=True)
class DeployHookResult:
    """What the trigger did.

    ``status`` is "created" when this call created the run and "exists" when an earlier attempt for the same
    deployment already had (both are success). ``paused`` is the DAG's paused state after the hook ran (None
    when it could not be read); a paused DAG queues the run but does not start it until it is unpaused.
    """

    dag_run_id: str
    status: Literal["created", "exists"]
    dag_run_url: str
    paused: bool | None
    unpaused: bool = False


def _safe_part(value: str) -> tuple[str, bool]:
    """The part as it may appear in a run id, and whether it had to change."""
    if len(value) <= MAX_PART_LEN and _CLEAN_PART.match(value):
        return value, False
    cleaned = _DOTS.sub(".", _UNSAFE.sub("-", value)).strip("-")[:MAX_PART_LEN].strip("-") or "x"
    return cleaned, True


def deploy_run_id(req: DeployRequest) -> str:
    """The DAG run id for this deployment: deterministic, so retries of the same deployment map to one run.

    Shape: ``<stage>__<endpoint>__<model_version>__<deploy_id>``. Parts keep only ``[A-Za-z0-9._-]`` and never
    ``..`` (Airflow refuses it); when a
    part had to be changed (unsafe characters, or longer than 56 characters) a hash of the original parts is
    appended, so two deployments whose ids would otherwise clean up to the same text stay distinct.
    """
    raw = (req.stage, req.endpoint, req.model_version, req.deploy_id)
    parts, changed = zip(*(_safe_part(p) for p in raw), strict=True)
    run_id = "__".join(parts)
    if any(changed):
        run_id += "__" + hashlib.sha256(json.dumps(raw).encode("utf-8")).hexdigest()[:12]
    return run_id


def build_conf(req: DeployRequest) -> dict[str, Any]:
    """The run conf for the golden_eval DAG; its keys are that DAG's Params."""
    conf: dict[str, Any] = {
        "endpoint": req.endpoint,
        "model_version": req.model_version,
        "deploy_id": req.deploy_id,
        "stage": req.stage,
    }
    if req.model is not None:
        conf["model"] = req.model
    if req.suite is not None:
        conf["suite"] = req.suite
    conf.update(req.extra)
    return conf


class _Redactor:
    """Removes secrets from any text that might reach an error message."""

    def __init__(self, secrets: list[str]) -> None:
        self._secrets = sorted((s for s in secrets if s), key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            text = text.replace(secret, "***")
        return text


def _detail(response: httpx.Response) -> Any:
    try:
        body = response.json()
    except ValueError:
        return response.text[:500]
    if isinstance(body, dict) and "detail" in body:
        return body["detail"]
    return body


def _json_object(response: httpx.Response) -> dict[str, Any]:
    """The response body as a JSON object, or {} (a proxy may answer 200 with HTML)."""
    try:
        body = response.json()
    except ValueError:
        return {}
    return body if isinstance(body, dict) else {}


def _describe_detail(detail: Any) -> str:
    if isinstance(detail, str):
        return detail
    return json.dumps(detail, default=str)


def _resolve_url(airflow_url: str | None, env: Mapping[str, str]) -> str:
    url = airflow_url or env.get(URL_ENV)
    if not url:
        raise DeployHookError(f"no Airflow URL: pass airflow_url (--airflow-url) or set {URL_ENV}")
    if not re.match(r"^https?://[^/\s]+", url):
        raise DeployHookError(f"Airflow URL {url!r} must be an http(s) URL such as http://localhost:8080")
    url = url.rstrip("/")
    # People paste the API base; the hook builds /auth and /api/v2 paths from the server root itself.
    return url.removesuffix("/api/v2")


class _Client:
    """The few Airflow API calls the hook makes, with retries on transient failures."""

    def __init__(
        self, base_url: str, http: httpx.Client, retries: int, backoff_s: float, redact: _Redactor
    ) -> None:
        self.base_url = base_url
        self.http = http
        self.retries = retries
        self.backoff_s = backoff_s
        self.redact = redact
        self.headers: dict[str, str] = {}

    def request(self, method: str, path: str, body: Any = None) -> httpx.Response:
        """Send one request; retry connection errors and 429/5xx; return any other response."""
        attempts = self.retries + 1
        attempt = 0
        while True:
            attempt += 1
            status: int | None = None
            try:
                response = self.http.request(method, self.base_url + path, json=body, headers=self.headers)
            except httpx.TransportError as exc:
                problem = f"{type(exc).__name__}: {exc}"
            else:
                if response.status_code not in _RETRY_STATUSES:
                    return response
                status = response.status_code
                problem = f"HTTP {status}: {_describe_detail(_detail(response))}"
            problem = self.redact(problem)
            if attempt >= attempts:
                raise DeployHookError(
                    f"{method} {self.base_url}{path} failed after {attempts} attempt(s): {problem}", status=status
                )
            delay = self.backoff_s * 2 ** (attempt - 1)
            log.warning("%s %s attempt %d/%d failed (%s); retrying in %.1fs",
                        method, path, attempt, attempts, problem, delay)
            time.sleep(delay)

    def fail(self, what: str, method: str, path: str, response: httpx.Response, hint: str = "") -> DeployHookError:
        detail = _detail(response)
        message = self.redact(
            f"{what}: Airflow answered {response.status_code} to {method} {path}: {_describe_detail(detail)}"
        )
        return DeployHookError(
            message + hint, status=response.status_code, detail=self.redact(_describe_detail(detail))
        )


def _credentials(
    username: str | None, password: str | None, token: str | None, env: Mapping[str, str]
) -> tuple[str | None, str | None, str | None]:
    """(token, username, password) from the arguments first, then the environment; error lists where it looked."""
    if token:
        return token, None, None
    if username and password:
        return None, username, password
    if env.get(TOKEN_ENV):
        return env[TOKEN_ENV], None, None
    user = username or env.get(USERNAME_ENV)
    pw = password or env.get(PASSWORD_ENV)
    if user and pw:
        return None, user, pw
    missing = []
    if user and not pw:
        missing.append(f"a password for user {user!r} (password= / {PASSWORD_ENV})")
    elif pw and not user:
        missing.append(f"a username to go with the password (username= / {USERNAME_ENV})")
    note = f"; missing {missing[0]}" if missing else ""
    raise DeployHookError(
        "no Airflow credentials: looked for the token= argument, the username= and password= arguments, "
        f"and the environment variables {TOKEN_ENV}, {USERNAME_ENV} and {PASSWORD_ENV}{note}"
    )


def trigger_golden_eval(
    airflow_url: str | None,
    req: DeployRequest,
    *,
    username: str | None = None,
    password: str | None = None,
    token: str | None = None,
    dag_id: str = DEFAULT_DAG_ID,
    timeout_s: float = 30,
    retries: int = 3,
    unpause: bool = False,
    backoff_s: float = 1.0,
    env: Mapping[str, str] | None = None,
    transport: httpx.BaseTransport | None = None,
) -> DeployHookResult:
    """Trigger the golden-set eval for a deployment and return the run it created (or found).

    ``retries`` counts extra attempts per request after a connection error or a 429/5xx answer, waiting
    ``backoff_s``, then twice as long each time. 409 (the run id exists: an earlier attempt got through) is
    success with status "exists". 400/401/403/404/422 raise :class:`DeployHookError` with Airflow's detail.
    ``env`` replaces ``os.environ`` and ``transport`` the HTTP transport (both for tests and embedding).
    """
    env = os.environ if env is None else env
    if retries < 0:
        raise DeployHookError(f"retries must be >= 0, got {retries}")
    base_url = _resolve_url(airflow_url, env)
    token, user, pw = _credentials(username, password, token, env)
    redact = _Redactor([pw or "", token or ""])
    run_id = deploy_run_id(req)
    conf = build_conf(req)
    dag_path = f"/api/v2/dags/{quote(dag_id, safe='')}"

    with httpx.Client(timeout=timeout_s, transport=transport) as http:
        client = _Client(base_url, http, retries, backoff_s, redact)
        if token is None:
            token = _login(client, user or "", pw or "")
            redact = client.redact = _Redactor([pw or "", token])
        client.headers = {"Authorization": f"Bearer {token}"}

        paused, unpaused = _check_paused(client, dag_id, dag_path, unpause)
        response = client.request(
            "POST", f"{dag_path}/dagRuns", {"dag_run_id": run_id, "logical_date": None, "conf": conf}
        )
        if response.status_code in (200, 201):
            status: Literal["created", "exists"] = "created"
            run_id = _json_object(response).get("dag_run_id") or run_id
        elif response.status_code == 409:
            status = "exists"
            _check_existing_conf(client, dag_path, run_id, conf)
        else:
            raise client.fail(
                f"triggering DAG {dag_id!r} for run {run_id!r} was refused", "POST", f"{dag_path}/dagRuns",
                response, _hint(response.status_code, dag_id),
            )

    url = f"{base_url}/dags/{quote(dag_id, safe='')}/runs/{quote(run_id, safe='')}"
    log.info("golden eval run %s %s: %s", run_id, status, url)
    return DeployHookResult(dag_run_id=run_id, status=status, dag_run_url=url, paused=paused, unpaused=unpaused)


def _hint(status: int, dag_id: str) -> str:
    if status == 404:
        return f" (is the DAG {dag_id!r} deployed and parsed without import errors?)"
    if status == 403:
        return f" (the user needs permission to trigger {dag_id!r})"
    if status == 401:
        return " (the token is invalid or expired)"
    return ""


def _login(client: _Client, username: str, password: str) -> str:
    response = client.request("POST", "/auth/token", {"username": username, "password": password})
    if response.status_code not in (200, 201):
        raise client.fail(f"logging in to Airflow as {username!r} failed", "POST", "/auth/token", response)
    try:
        access_token = response.json()["access_token"]
    except (ValueError, KeyError, TypeError):
        raise DeployHookError(
            f"POST {client.base_url}/auth/token answered {response.status_code} without an access_token; "
            "is this Airflow 3 with the simple auth manager (or one that serves /auth/token)?"
        ) from None
    if not isinstance(access_token, str) or not access_token:
        raise DeployHookError(f"POST {client.base_url}/auth/token returned an empty access_token")
    return access_token


def _check_paused(client: _Client, dag_id: str, dag_path: str, unpause: bool) -> tuple[bool | None, bool]:
    """The DAG's paused state after unpausing it if asked; a 404 here means the DAG is not deployed."""
    response = client.request("GET", dag_path)
    if response.status_code == 404:
        raise client.fail(f"DAG {dag_id!r} not found", "GET", dag_path, response, _hint(404, dag_id))
    if response.status_code in (401, 403):
        raise client.fail(f"reading DAG {dag_id!r} was refused", "GET", dag_path, response,
                          _hint(response.status_code, dag_id))
    if response.status_code != 200:
        log.warning("could not read whether DAG %s is paused (HTTP %d); triggering anyway",
                    dag_id, response.status_code)
        return None, False
    paused = _json_object(response).get("is_paused")
    if paused is not True:
        return (False if paused is False else None), False
    if not unpause:
        log.warning("DAG %s is paused: the run is queued but will not start until the DAG is unpaused "
                    "(in the Airflow UI, or trigger again with --unpause)", dag_id)
        return True, False
    response = client.request("PATCH", dag_path, {"is_paused": False})
    if response.status_code != 200:
        raise client.fail(f"unpausing DAG {dag_id!r} failed", "PATCH", dag_path, response,
                          _hint(response.status_code, dag_id))
    log.info("unpaused DAG %s", dag_id)
    return False, True


def _check_existing_conf(client: _Client, dag_path: str, run_id: str, conf: dict[str, Any]) -> None:
    """A 409 is only "exists" if that run is this deployment; a different conf under the same id is an error."""
    path = f"{dag_path}/dagRuns/{quote(run_id, safe='')}"
    response = client.request("GET", path)
    if response.status_code != 200:
        # Cannot compare (e.g. no read permission): the id is derived from the deployment, so trust it.
        return
    existing = _json_object(response).get("conf") or {}
    differs = sorted(k for k in set(existing) | set(conf) if existing.get(k) != conf.get(k))
    if differs:
        raise DeployHookError(
            f"DAG run {run_id!r} already exists with a different conf (keys {differs} differ): the same "
            "stage, endpoint, model_version and deploy_id were triggered before with other settings; "
            "use a new deploy_id for a new attempt",
            status=409,
            detail={k: {"existing": existing.get(k), "requested": conf.get(k)} for k in differs},
        )
