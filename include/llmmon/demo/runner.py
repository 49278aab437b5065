"""``llmmon demo`` (``make demo``): golden_eval through Airflow for v1, v2 as a deploy triggers it, then v2's daily run.

Alerts are sustained (``for: 2``): v2's deploy run finds the regression (pending); the daily run confirms it and the
alert fires to the local webhook receiver.

The library never imports Airflow: the demo drives the ``airflow`` command of the same environment
(``airflow dags test``, which runs a DAG run in-process with the real scheduler logic) against this project's
``dags/`` and ``plugins/``, with a throw-away AIRFLOW_HOME. The demo model server and a webhook receiver run in
this process on 127.0.0.1; results go to the configured warehouse (a SQLite file by default).
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path


class WebhookReceiver:
    """A local JSON webhook endpoint that keeps what it receives (stands in for Slack/PagerDuty in the demo)."""

    def __init__(self) -> None:
        self.received: list[dict] = []
        received = self.received

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                try:
                    received.append(json.loads(body))
                except ValueError:
                    received.append({"raw": body.decode(errors="replace")})
                self.send_response(204)
                self.end_headers()

            def log_message(self, *args) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._server.server_address[1]}/alerts"
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    def __enter__(self) -> WebhookReceiver:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()


def _project_dir() -> Path:
    return Path(os.environ.get("LLMMON_HOME") or os.getcwd()).resolve()


def _airflow_env(home: Path, project: Path, extra: dict[str, str]) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        {
            "AIRFLOW_HOME": str(home),
            "AIRFLOW__CORE__DAGS_FOLDER": str(project / "dags"),
            "AIRFLOW__CORE__PLUGINS_FOLDER": str(project / "plugins"),
            "AIRFLOW__CORE__LOAD_EXAMPLES": "False",
            "AIRFLOW__DATABASE__SQL_ALCHEMY_CONN": f"sqlite:///{home / 'airflow.db'}",
            "AIRFLOW__LOGGING__LOGGING_LEVEL": "WARNING",
            "LLMMON_HOME": str(project),
            # Airflow 3.3.2's `dags test` fails on DAGs with a DeadlineAlert (see llmmon_airflow.notifiers)
            "LLMMON_GOLDEN_EVAL_DEADLINE": "off",
        }
    )
    env.update(extra)
    return env


def _run(cmd: list[str], env: dict[str, str], log_path: Path, what: str) -> None:
    started = time.monotonic()
    with log_path.open("w") as log:
        proc = subprocess.run(cmd, env=env, stdout=log, stderr=subprocess.STDOUT, check=False)
    took = time.monotonic() - started
    if proc.returncode != 0:
        tail = "\n".join(log_path.read_text(errors="replace").splitlines()[-40:])
        raise RuntimeError(f"{what} failed (exit {proc.returncode}, {took:.0f}s); log {log_path}:\n{tail}")
    print(f"  {what}: done in {took:.0f}s (log: {log_path})", flush=True)


def run_demo(keep_home: bool = False) -> int:
    from llmmon.config import load_settings
    from llmmon.demo.server import DemoServer, DemoServerConfig
    from llmmon.report import format_example_queries, format_run_report, run_report
    from llmmon.warehouse import Warehouse

    project = _project_dir()
    os.environ.setdefault("LLMMON_HOME", str(project))
    settings = load_settings()
    state = project / ".llmmon"
    home = state / "airflow-demo"
    if home.exists():
        shutil.rmtree(home)
    home.mkdir(parents=True)
    airflow = str(Path(sys.executable).with_name("airflow"))
    warehouse = Warehouse(settings.warehouse.url)
    warehouse.upgrade()
    stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S")

    print("llmmon demo: golden_eval through Airflow — deploy v1 (baseline), deploy v2 (degraded), v2's daily run",
          flush=True)
    with DemoServer(DemoServerConfig(port=0, golden_sets_dir=settings.golden_sets_dir)) as server, \
            WebhookReceiver() as receiver:
        print(f"  demo model server: {server.base_url}; alert webhook receiver: {receiver.url}", flush=True)
        env = _airflow_env(home, project, {"LLMMON_DEMO_URL": server.base_url,
                                           "LLMMON_ALERT_WEBHOOK_URL": receiver.url})
        _run([airflow, "db", "migrate"], env, home / "db-migrate.log", "airflow db migrate")
        run_keys = []
        steps = [
            ("deploy v1 (the baseline)", {"endpoint": "demo", "model": "llmmon-demo-v1", "model_version": "v1",
                                          "deploy_id": f"demo-{stamp}-v1", "stage": "deploy"}),
            ("deploy v2 (degraded)", {"endpoint": "demo", "model": "llmmon-demo-v2", "model_version": "v2",
                                      "deploy_id": f"demo-{stamp}-v2", "stage": "deploy"}),
            # the scheduled daily run evaluates what is deployed now (v2): the second breach fires the alerts
            ("daily run on v2", {"endpoint": "demo", "stage": "daily"}),
        ]
        for i, (label, conf) in enumerate(steps, 1):
            before = {r["run_key"] for r in warehouse.latest_eval_runs(limit=50)}
            _run([airflow, "dags", "test", "golden_eval", "--conf", json.dumps(conf)], env,
                 home / f"golden_eval-{i}.log", f"airflow dags test golden_eval: {label}")
            new = [r for r in warehouse.latest_eval_runs(limit=50) if r["run_key"] not in before]
            if not new:
                raise RuntimeError(f"no eval run recorded for {label}; see {home}")
            run_keys.append(new[0]["run_key"])

        from llmmon.demo.traffic_phase import run_traffic_phase

        traffic = run_traffic_phase(
            settings=settings, state=state, server=server, env=env,
            run_dag=lambda args, tag, label: _run([airflow, "dags", "test", *args], env,
                                                  home / f"{tag}.log", label),
        )
        from llmmon.demo.drift_phase import format_drift_summary, run_drift_phase
        from llmmon.demo.rag_phase import format_rag_summary, run_rag_phase
        from llmmon.demo.slo_phase import format_slo_summary, run_slo_phase

        phases = []
        for run_phase, format_summary in ((run_drift_phase, format_drift_summary),
                                          (run_rag_phase, format_rag_summary),
                                          (run_slo_phase, format_slo_summary)):
            result = run_phase(
                settings=settings, state=state, server=server, env=env, traffic=traffic,
                run_dag=lambda args, tag, label: _run([airflow, "dags", "test", *args], env,
                                                      home / f"{tag}.log", label),
            )
            phases.append((format_summary, result))

    print()
    for key in run_keys:
        print(format_run_report(run_report(warehouse, key)))
        print()
    from llmmon.demo.traffic_phase import format_traffic_summary

    print(format_traffic_summary(warehouse, traffic["windows"]))
    print()
    for format_summary, result in phases:
        text = format_summary(warehouse, result)
        if text:
            print(text)
            print()
    print(f"Alert notifications received by the local webhook: {len(receiver.received)}")
    for payload in receiver.received:
        print(f"  {payload.get('kind')}: {payload.get('summary')}")
    print()
    print(format_example_queries(settings.warehouse.url))
    if not keep_home:
        shutil.rmtree(home, ignore_errors=True)
    return 0
