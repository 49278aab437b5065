"""The deploy hook against a fake Airflow 3 REST API served over real HTTP on 127.0.0.1.

Airflow's API is a true outside boundary (a running api-server needs a metadata DB, a scheduler and a parsed
DAG), so a small aiohttp server stands in for it. It behaves like Airflow 3.3 where the hook depends on it:
/auth/token checks credentials and issues a bearer token; dagRuns checks the token, rejects bodies without the
``logical_date`` key or with unknown keys (422, as Airflow's strict body model does), validates run ids against
Airflow's default ``allowed_run_id_pattern`` and conf against golden_eval-like Params (400), and answers 409
for a repeated run id. Every request it receives is recorded, so tests assert the exact payloads.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import secrets
import socket
import threading
from typing import Any

import jsonschema
import pytest
from aiohttp import web

from llmmon.deploy_hook import (
    DeployHookError,
    DeployHookResult,
    DeployRequest,
    build_conf,
    deploy_run_id,
    trigger_golden_eval,
)
from llmmon.errors import LlmmonError, RunConfError

USER = "deployer"
PASSWORD = "pw-Sup3r-Secret-9f1c"  # noqa: S105 - a test credential for the fake server
AIRFLOW_RUN_ID_PATTERN = re.compile(r"^[A-Za-z0-9_.~:+-]+$")  # Airflow 3.3 [scheduler] allowed_run_id_pattern
BODY_KEYS = {"dag_run_id", "data_interval_start", "data_interval_end", "logical_date", "run_after", "conf",
             "note", "partition_key"}
STAGES = ["daily", "deploy", "canary", "shadow", "manual"]
# The golden_eval DAG's Params as JSON schemas (dags/golden_eval.py).
GOLDEN_EVAL_PARAMS: dict[str, dict[str, Any]] = {
    "endpoint": {"type": ["null", "string"]},
    "model": {"type": ["null", "string"]},
    "model_version": {"type": ["null", "string"]},
    "deploy_id": {"type": ["null", "string"], "maxLength": 200},
    "stage": {"type": "string", "enum": STAGES},
    "suite": {"type": ["null", "string"]},
    "trials": {"type": "integer", "minimum": 1, "maximum": 20},
    "max_examples": {"type": ["null", "integer"], "minimum": 1},
    "shards": {"type": ["null", "integer"], "minimum": 1, "maximum": 1024},
}


class FakeAirflow:
    """The slice of Airflow 3.3's REST API the deploy hook uses."""

    def __init__(self) -> None:
        self.users = {USER: PASSWORD, "viewer": "viewer-pw"}
        self.tokens: dict[str, str] = {}  # token -> username
        self.dags: dict[str, dict[str, Any]] = {"golden_eval": {"is_paused": False}}
        self.runs: dict[tuple[str, str], dict[str, Any]] = {}
        self.received: list[dict[str, Any]] = []
        self.fail_next_posts: list[int] = []  # statuses to answer dagRuns POSTs with, before doing anything
        self.lose_next_create = False  # create the run, then answer 503 as if the response was lost
        self.echo_login_input = False  # answer a login with a 422 that echoes the body, as pydantic does
        self._loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._ready = threading.Event()
        self.port = 0

    # -- lifecycle -------------------------------------------------------------------------------------
    def _serve(self) -> None:
        asyncio.set_event_loop(self._loop)
        app = web.Application()
        app.router.add_post("/auth/token", self._token)
        app.router.add_get("/api/v2/dags/{dag_id}", self._get_dag)
        app.router.add_patch("/api/v2/dags/{dag_id}", self._patch_dag)
        app.router.add_post("/api/v2/dags/{dag_id}/dagRuns", self._post_run)
        app.router.add_get("/api/v2/dags/{dag_id}/dagRuns/{run_id}", self._get_run)
        self._runner = web.AppRunner(app)
        self._loop.run_until_complete(self._runner.setup())
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        self._loop.run_until_complete(site.start())
        self.port = self._runner.addresses[0][1]
        self._ready.set()
        self._loop.run_forever()

    def start(self) -> FakeAirflow:
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("fake Airflow did not start")
        return self

    def stop(self) -> None:
        asyncio.run_coroutine_threadsafe(self._runner.cleanup(), self._loop).result(10)
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)
        self._loop.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def issue_token(self, user: str = USER) -> str:
        token = "jwt-" + secrets.token_hex(8)
        self.tokens[token] = user
        return token

    def calls(self, method: str | None = None, path_suffix: str = "") -> list[dict[str, Any]]:
        return [c for c in self.received
                if (method is None or c["method"] == method) and c["path"].endswith(path_suffix)]

    # -- handlers --------------------------------------------------------------------------------------
    async def _record(self, request: web.Request) -> Any:
        body = await request.json() if request.can_read_body else None
        self.received.append({"method": request.method, "path": request.path, "json": body,
                              "authorization": request.headers.get("Authorization")})
        return body

    def _user(self, request: web.Request) -> str | None:
        auth = request.headers.get("Authorization", "")
        return self.tokens.get(auth.removeprefix("Bearer ")) if auth.startswith("Bearer ") else None

    async def _token(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if self.echo_login_input:
            return web.json_response({"detail": [{"type": "value_error", "loc": ["body"], "msg": "bad body",
                                                  "input": body}]}, status=422)
        if not isinstance(body, dict) or self.users.get(body.get("username")) != body.get("password"):
            return web.json_response({"detail": "Invalid credentials"}, status=401)
        return web.json_response({"access_token": self.issue_token(body["username"])}, status=201)

    async def _get_dag(self, request: web.Request) -> web.Response:
        await self._record(request)
        if self._user(request) is None:
            return web.json_response({"detail": "Not authenticated"}, status=401)
        dag_id = request.match_info["dag_id"]
        if dag_id not in self.dags:
            return web.json_response({"detail": f"Dag with id {dag_id} was not found"}, status=404)
        return web.json_response({"dag_id": dag_id, **self.dags[dag_id]})

    async def _patch_dag(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        if self._user(request) != USER:
            return web.json_response({"detail": "Forbidden"}, status=403)
        dag = self.dags[request.match_info["dag_id"]]
        dag["is_paused"] = bool(body["is_paused"])
        return web.json_response({"dag_id": request.match_info["dag_id"], **dag})

    async def _post_run(self, request: web.Request) -> web.Response:
        body = await self._record(request)
        user = self._user(request)
        if user is None:
            return web.json_response({"detail": "Not authenticated"}, status=401)
        if user != USER:
            return web.json_response({"detail": "Forbidden"}, status=403)
        if self.fail_next_posts:
            return web.json_response({"detail": "Service Unavailable"}, status=self.fail_next_posts.pop(0))
        dag_id = request.match_info["dag_id"]
        if dag_id not in self.dags:
            return web.json_response({"detail": f"Dag with dag_id: '{dag_id}' not found"}, status=404)
        if "logical_date" not in body:
            return web.json_response({"detail": [{"type": "missing", "loc": ["body", "logical_date"],
                                                  "msg": "Field required"}]}, status=422)
        unknown = sorted(set(body) - BODY_KEYS)
        if unknown:
            return web.json_response({"detail": [{"type": "extra_forbidden", "loc": ["body", unknown[0]],
                                                  "msg": "Extra inputs are not permitted"}]}, status=422)
        run_id = body.get("dag_run_id")
        if ".." in (run_id or ""):
            return web.json_response({"detail": f"The run_id '{run_id}' must not contain '..' to prevent path "
                                                "traversal"}, status=400)
        if not AIRFLOW_RUN_ID_PATTERN.match(run_id or ""):
            return web.json_response({"detail": f"The run_id provided '{run_id}' does not match regex pattern "
                                                f"'{AIRFLOW_RUN_ID_PATTERN.pattern}'"}, status=400)
        problem = self._param_problem(body.get("conf") or {})
        if problem:
            return web.json_response({"detail": problem}, status=400)
        if (dag_id, run_id) in self.runs:
            return web.json_response({"detail": {"reason": "Unique constraint violation", "statement": "hidden",
                                                 "orig_error": "hidden", "message": "Serious error"}}, status=409)
        run = {"dag_run_id": run_id, "dag_id": dag_id, "logical_date": None, "state": "queued",
               "conf": body.get("conf") or {}}
        self.runs[(dag_id, run_id)] = run
        if self.lose_next_create:
            self.lose_next_create = False
            return web.json_response({"detail": "upstream timed out"}, status=503)
        return web.json_response(run, status=200)

    async def _get_run(self, request: web.Request) -> web.Response:
        await self._record(request)
        if self._user(request) is None:
            return web.json_response({"detail": "Not authenticated"}, status=401)
        run = self.runs.get((request.match_info["dag_id"], request.match_info["run_id"]))
        if run is None:
            return web.json_response({"detail": "not found"}, status=404)
        return web.json_response(run)

    @staticmethod
    def _param_problem(conf: dict[str, Any]) -> str | None:
        """Validate conf with jsonschema per Param, as Airflow does (schemas copied from dags/golden_eval.py)."""
        for key, schema in GOLDEN_EVAL_PARAMS.items():
            if key not in conf:
                continue
            try:
                jsonschema.validate(conf[key], schema)
            except jsonschema.ValidationError as ve:
                return f"Invalid input for param {key}: {ve.message}"
        return None


@pytest.fixture
def airflow():
    fake = FakeAirflow().start()
    yield fake
    fake.stop()


def creds_env(fake: FakeAirflow, **extra: str) -> dict[str, str]:
    return {"AIRFLOW_API_URL": fake.url, "AIRFLOW_USERNAME": USER, "AIRFLOW_PASSWORD": PASSWORD, **extra}


REQ = DeployRequest(endpoint="support-bot", model_version="v2", deploy_id="rel-42", suite="customer_support")
EXPECTED_CONF = {"endpoint": "support-bot", "model_version": "v2", "deploy_id": "rel-42", "stage": "deploy",
                 "suite": "customer_support"}


def trigger(fake: FakeAirflow, req: DeployRequest = REQ, **kwargs: Any) -> DeployHookResult:
    kwargs.setdefault("env", creds_env(fake))
    kwargs.setdefault("backoff_s", 0)
    return trigger_golden_eval(kwargs.pop("airflow_url", None), req, **kwargs)


# -- run id and conf ----------------------------------------------------------------------------------------

def test_run_id_is_readable_when_parts_are_safe():
    assert deploy_run_id(REQ) == "deploy__support-bot__v2__rel-42"
    canary = DeployRequest(endpoint="support_bot", model_version="2024.08.06", deploy_id="r1", stage="canary")
    assert deploy_run_id(canary) == "canary__support_bot__2024.08.06__r1"


def test_run_id_is_deterministic_and_pinned_across_releases():
    # Retries of one deployment, even from a newer llmmon, must map to the same Airflow run: pin the value.
    req = DeployRequest(endpoint="support bot", model_version="gpt-4o/2024-08-06 (ft)", deploy_id="#42")
    again = DeployRequest(endpoint="support bot", model_version="gpt-4o/2024-08-06 (ft)", deploy_id="#42",
                          suite="rag_qa", model="other")
    assert deploy_run_id(req) == deploy_run_id(again) == "deploy__support-bot__gpt-4o-2024-08-06-ft__42__61bad012e2ff"


@pytest.mark.parametrize("value", ["a/b", "a:b", "a b", "ü", "a__b", "_a", "a_", "'; DROP TABLE x; --",
                                   "../../etc", "1..2", "v1...", "x" * 400])
def test_run_id_is_airflow_safe(value):
    run_id = deploy_run_id(DeployRequest(endpoint=value, model_version=value, deploy_id=value))
    assert re.fullmatch(r"[A-Za-z0-9_.-]+", run_id), run_id
    assert ".." not in run_id  # Airflow refuses it (path traversal guard)
    assert len(run_id) <= 200
    assert run_id.startswith("deploy__")
    # Exactly four "__" separators between stage, endpoint, version, deploy id and the hash.
    assert len(run_id.split("__")) == 5, run_id


def test_run_ids_that_clean_up_alike_stay_distinct():
    ids = {deploy_run_id(DeployRequest(endpoint="bot", model_version=v, deploy_id="1"))
           for v in ("a/b", "a:b", "a b", "a-b")}
    assert len(ids) == 4
    # A part containing "__" would make the id ambiguous: it is hashed too.
    split_a = deploy_run_id(DeployRequest(endpoint="a__b", model_version="c", deploy_id="d"))
    split_b = deploy_run_id(DeployRequest(endpoint="a", model_version="b__c", deploy_id="d"))
    assert split_a != split_b


def test_build_conf_carries_the_dag_params():
    assert build_conf(REQ) == EXPECTED_CONF
    full = DeployRequest(endpoint="e", model_version="v", deploy_id="d", stage="shadow", model="m-1",
                         extra={"canary_percent": 5})
    assert build_conf(full) == {"endpoint": "e", "model_version": "v", "deploy_id": "d", "stage": "shadow",
                                "model": "m-1", "canary_percent": 5}


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"endpoint": ""}, "endpoint"),
    ({"model_version": "  "}, "model_version"),
    ({"stage": "prod"}, "stage"),
    ({"suite": ""}, "suite"),
    ({"extra": {"stage": "daily"}}, "stage"),
    ({"extra": {"when": object()}}, "JSON"),
])
def test_invalid_request_names_the_field(kwargs, field):
    base = {"endpoint": "e", "model_version": "v", "deploy_id": "d"}
    with pytest.raises(RunConfError, match=field):
        DeployRequest(**{**base, **kwargs})


# -- against the fake Airflow -------------------------------------------------------------------------------

def test_created_sends_exact_payloads(airflow):
    result = trigger(airflow)
    run_id = "deploy__support-bot__v2__rel-42"
    assert result == DeployHookResult(dag_run_id=run_id, status="created", paused=False, unpaused=False,
                                      dag_run_url=f"{airflow.url}/dags/golden_eval/runs/{run_id}")
    login, get_dag, post = airflow.received
    assert (login["method"], login["path"], login["json"]) == (
        "POST", "/auth/token", {"username": USER, "password": PASSWORD})
    token = next(iter(airflow.tokens))
    assert (get_dag["method"], get_dag["path"], get_dag["authorization"]) == (
        "GET", "/api/v2/dags/golden_eval", f"Bearer {token}")
    assert post["path"] == "/api/v2/dags/golden_eval/dagRuns"
    assert post["authorization"] == f"Bearer {token}"
    assert post["json"] == {"dag_run_id": run_id, "logical_date": None, "conf": EXPECTED_CONF}
    assert airflow.runs[("golden_eval", run_id)]["conf"] == EXPECTED_CONF


def test_retried_hook_gets_409_and_reports_exists(airflow):
    first = trigger(airflow)
    second = trigger(airflow)
    assert (first.status, second.status) == ("created", "exists")
    assert second.dag_run_id == first.dag_run_id
    assert second.dag_run_url == first.dag_run_url
    posts = airflow.calls("POST", "/dagRuns")
    assert len(posts) == 2 and posts[0]["json"] == posts[1]["json"]
    assert len(airflow.runs) == 1
    # The hook looked at the existing run to make sure it is this deployment.
    assert airflow.calls("GET", f"/dagRuns/{first.dag_run_id}")


def test_same_run_id_with_different_conf_is_an_error(airflow):
    trigger(airflow)
    other = DeployRequest(endpoint="support-bot", model_version="v2", deploy_id="rel-42", suite="other_suite")
    with pytest.raises(DeployHookError, match=r"different conf.*\['suite'\]") as info:
        trigger(airflow, other)
    assert info.value.status == 409


def test_503_then_success_is_retried(airflow, caplog):
    airflow.fail_next_posts = [503]
    with caplog.at_level(logging.WARNING, logger="llmmon.deploy_hook"):
        result = trigger(airflow, retries=2)
    assert result.status == "created"
    posts = airflow.calls("POST", "/dagRuns")
    assert len(posts) == 2 and posts[0]["json"] == posts[1]["json"]
    assert "attempt 1/3 failed (HTTP 503" in caplog.text


def test_lost_response_then_retry_finds_the_run(airflow):
    airflow.lose_next_create = True
    result = trigger(airflow)
    assert result.status == "exists"
    assert len(airflow.runs) == 1


def test_persistent_5xx_gives_up_after_retries(airflow):
    airflow.fail_next_posts = [503, 502, 500]
    with pytest.raises(DeployHookError, match=r"failed after 3 attempt\(s\): HTTP 500") as info:
        trigger(airflow, retries=2)
    assert info.value.status == 500
    assert len(airflow.calls("POST", "/dagRuns")) == 3
    assert not airflow.runs


def test_connection_refused_is_retried_then_reported():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {"AIRFLOW_USERNAME": USER, "AIRFLOW_PASSWORD": PASSWORD}
    with pytest.raises(DeployHookError, match=r"POST http://127\.0\.0\.1:\d+/auth/token failed after 2 attempt"):
        trigger_golden_eval(f"http://127.0.0.1:{port}", REQ, env=env, retries=1, backoff_s=0)


def test_bad_credentials_error_never_shows_the_password(airflow):
    env = creds_env(airflow, AIRFLOW_PASSWORD="wrong-" + PASSWORD)
    with pytest.raises(DeployHookError) as info:
        trigger(airflow, env=env)
    err = info.value
    assert err.status == 401
    assert "Invalid credentials" in str(err) and "'deployer'" in str(err)
    assert PASSWORD not in str(err) and PASSWORD not in repr(err.detail)
    assert not airflow.calls("POST", "/dagRuns")


def test_echoed_password_is_redacted(airflow):
    airflow.echo_login_input = True
    with pytest.raises(DeployHookError) as info:
        trigger(airflow)
    assert info.value.status == 422
    assert "***" in str(info.value)
    assert PASSWORD not in str(info.value) and PASSWORD not in str(info.value.detail)


def test_invalid_token_is_refused_without_showing_it(airflow):
    bad = "jwt-not-issued-0123456789"
    with pytest.raises(DeployHookError, match="401") as info:
        trigger(airflow, env={"AIRFLOW_API_URL": airflow.url, "AIRFLOW_API_TOKEN": bad})
    assert bad not in str(info.value)
    assert airflow.received[0]["authorization"] == f"Bearer {bad}"


def test_token_from_environment_skips_login(airflow):
    token = airflow.issue_token()
    result = trigger(airflow, env={"AIRFLOW_API_URL": airflow.url, "AIRFLOW_API_TOKEN": token})
    assert result.status == "created"
    assert not airflow.calls("POST", "/auth/token")
    assert {c["authorization"] for c in airflow.received} == {f"Bearer {token}"}


def test_explicit_arguments_win_over_environment(airflow):
    env = {"AIRFLOW_API_URL": "http://127.0.0.1:9/unused", "AIRFLOW_USERNAME": "nobody",
           "AIRFLOW_PASSWORD": "nope"}
    result = trigger(airflow, airflow_url=airflow.url + "/api/v2/", username=USER, password=PASSWORD, env=env)
    assert result.status == "created"
    assert airflow.calls("POST", "/auth/token")[0]["json"] == {"username": USER, "password": PASSWORD}


def test_forbidden_user_gets_403_with_hint(airflow):
    env = creds_env(airflow, AIRFLOW_USERNAME="viewer", AIRFLOW_PASSWORD="viewer-pw")
    with pytest.raises(DeployHookError, match="403.*permission to trigger 'golden_eval'") as info:
        trigger(airflow, env=env)
    assert info.value.status == 403


def test_invalid_conf_400_surfaces_airflow_detail(airflow):
    # The DAG's deploy_id Param has maxLength 200; the hook does not second-guess the DAG's schema.
    req = DeployRequest(endpoint="support-bot", model_version="v2", deploy_id="r" * 201)
    with pytest.raises(DeployHookError) as info:
        trigger(airflow, req)
    err = info.value
    expected = f"Invalid input for param deploy_id: '{'r' * 201}' is too long"
    assert err.status == 400
    assert err.detail == expected
    assert f"Airflow answered 400 to POST /api/v2/dags/golden_eval/dagRuns: {expected}" in str(err)
    assert isinstance(err, LlmmonError)
    assert not airflow.runs
    # The run id itself stayed valid: only the conf was refused.
    assert AIRFLOW_RUN_ID_PATTERN.match(airflow.calls("POST", "/dagRuns")[0]["json"]["dag_run_id"])


def test_invalid_extra_conf_400(airflow):
    req = DeployRequest(endpoint="support-bot", model_version="v2", deploy_id="rel-44", extra={"trials": 0})
    with pytest.raises(DeployHookError, match="Invalid input for param trials: 0 is less than the minimum of 1"):
        trigger(airflow, req)


def test_unknown_dag_is_404_with_hint(airflow):
    with pytest.raises(DeployHookError, match="404.*deployed and parsed") as info:
        trigger(airflow, dag_id="no_such_dag")
    assert info.value.status == 404


def test_paused_dag_is_reported_and_still_triggered(airflow, caplog):
    airflow.dags["golden_eval"]["is_paused"] = True
    with caplog.at_level(logging.WARNING, logger="llmmon.deploy_hook"):
        result = trigger(airflow)
    assert (result.status, result.paused, result.unpaused) == ("created", True, False)
    assert "DAG golden_eval is paused" in caplog.text
    assert not airflow.calls("PATCH")
    assert airflow.dags["golden_eval"]["is_paused"] is True


def test_unpause_patches_the_dag(airflow):
    airflow.dags["golden_eval"]["is_paused"] = True
    result = trigger(airflow, unpause=True)
    assert (result.status, result.paused, result.unpaused) == ("created", False, True)
    (patch,) = airflow.calls("PATCH")
    assert (patch["path"], patch["json"]) == ("/api/v2/dags/golden_eval", {"is_paused": False})
    assert airflow.dags["golden_eval"]["is_paused"] is False
    # Unpausing happens before the trigger, so the run starts at once.
    methods = [c["method"] for c in airflow.received]
    assert methods.index("PATCH") < methods.index("POST", 1)


@pytest.mark.parametrize(("endpoint", "version", "deploy_id"), [
    ("support bot", "gpt-4o/2024-08-06 (ft)", "#42"),
    ("bot", "1..2", "../../etc/passwd"),
    ("bot", "v" * 300, "rel 1"),
])
def test_unsafe_inputs_are_accepted_by_airflow(airflow, endpoint, version, deploy_id):
    req = DeployRequest(endpoint=endpoint, model_version=version, deploy_id=deploy_id)
    result = trigger(airflow, req)
    assert result.status == "created"
    assert result.dag_run_id == deploy_run_id(req)
    # The conf keeps the original values: only the run id is cleaned.
    assert airflow.calls("POST", "/dagRuns")[0]["json"]["conf"]["model_version"] == version


def test_missing_credentials_lists_where_it_looked():
    with pytest.raises(DeployHookError) as info:
        trigger_golden_eval("http://127.0.0.1:9", REQ, env={})
    msg = str(info.value)
    for name in ("AIRFLOW_API_TOKEN", "AIRFLOW_USERNAME", "AIRFLOW_PASSWORD", "token=", "username="):
        assert name in msg
    with pytest.raises(DeployHookError, match="missing a password for user 'ci'"):
        trigger_golden_eval("http://127.0.0.1:9", REQ, env={"AIRFLOW_USERNAME": "ci"})


def test_missing_url_names_the_variable():
    with pytest.raises(DeployHookError, match="AIRFLOW_API_URL"):
        trigger_golden_eval(None, REQ, env={"AIRFLOW_API_TOKEN": "t"})
    with pytest.raises(DeployHookError, match="http"):
        trigger_golden_eval("localhost:8080", REQ, env={"AIRFLOW_API_TOKEN": "t"})


def test_cli_triggers_the_dag_it_is_given(airflow, monkeypatch, capsys):
    from llmmon.cli import main

    airflow.dags["rag_eval"] = {"is_paused": False}
    monkeypatch.setenv("AIRFLOW_API_TOKEN", airflow.issue_token())
    rc = main(["deploy-hook", "--airflow-url", airflow.url, "--dag-id", "rag_eval", "--endpoint", "demo",
               "--model-version", "v2-degraded", "--deploy-id", "index-7"])
    assert rc == 0
    out = json.loads(capsys.readouterr().out)
    assert out["status"] == "created" and out["url"].endswith(f"/dags/rag_eval/runs/{out['dag_run_id']}")
    (post,) = airflow.calls("POST", "/api/v2/dags/rag_eval/dagRuns")
    assert post["json"]["conf"]["endpoint"] == "demo" and post["json"]["conf"]["model_version"] == "v2-degraded"
    assert not airflow.calls("POST", "/api/v2/dags/golden_eval/dagRuns")
