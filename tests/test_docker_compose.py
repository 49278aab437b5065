"""docker-compose.yaml is consistent: it parses, and its services, URLs, mounts and commands agree.

There is no Docker engine on the test machines, so the file is checked the way compose would read it:
YAML with merge keys, then ``${VAR:-default}`` interpolation. ``docker compose config`` validates it too
where the compose plugin is installed.
"""

from __future__ import annotations

import glob
import importlib
import importlib.util
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy.engine import make_url

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = ROOT / "docker-compose.yaml"
AIRFLOW_SERVICES = {"airflow-init", "airflow-apiserver", "airflow-scheduler", "airflow-dag-processor",
                    "airflow-triggerer", "airflow-worker"}
EXPECTED_SERVICES = AIRFLOW_SERVICES | {"postgres", "warehouse-db", "redis", "demo-server"}
AIRFLOW_VERSION = "3.3.2"
# Commands of the Celery provider's CLI; the provider ships in the apache/airflow image, not in the dev venv.
CELERY_SUBCOMMANDS = {"worker", "flower", "stop"}

_VAR = re.compile(r"\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?-)([^}]*))?\}")


def interpolate(value: Any, env: dict[str, str]) -> Any:
    """Compose's interpolation: ${VAR}, ${VAR:-default} (unset or empty), ${VAR-default} (unset), $$ -> $."""
    if isinstance(value, str):
        def sub(m: re.Match[str]) -> str:
            if m.group(0) == "$$":
                return "$"
            name, op, default = m.group(1), m.group(2), m.group(3)
            if op == ":-":
                return env.get(name) or default
            if op == "-":
                return env[name] if name in env else default
            return env.get(name, "")
        return _VAR.sub(sub, value)
    if isinstance(value, dict):
        return {k: interpolate(v, env) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, env) for v in value]
    return value


def load(env: dict[str, str] | None = None) -> dict[str, Any]:
    raw = yaml.safe_load(COMPOSE.read_text(encoding="utf-8"))
    return interpolate(raw, env or {})


@pytest.fixture(scope="module")
def doc() -> dict[str, Any]:
    return load()


@pytest.fixture(scope="module")
def services(doc) -> dict[str, Any]:
    return doc["services"]


def env_of(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if not isinstance(env, dict):
        raise TypeError("use the mapping form for environment, so anchors can merge it")
    return {k: str(v) for k, v in env.items()}


def command_argv(command: Any) -> list[str]:
    return list(command) if isinstance(command, list) else shlex.split(command)


def bind_mounts(service: dict[str, Any]) -> list[tuple[str, str]]:
    """(host path, container path) of the service's bind mounts; named volumes are left out."""
    mounts = []
    for volume in service.get("volumes", []):
        source, target = volume.split(":")[:2]
        if source.startswith((".", "/", "~")):
            mounts.append((source, target))
    return mounts


# -- structure ----------------------------------------------------------------------------------------------

def test_parses_with_the_expected_services(services):
    assert set(services) == EXPECTED_SERVICES


def test_airflow_services_share_image_build_volumes_and_env(doc, services):
    common = doc["x-airflow-common"]
    common_env = env_of(common)
    for name in AIRFLOW_SERVICES:
        service = services[name]
        assert service["build"] == common["build"], name
        assert service["image"] == common["image"] == "llmmon-airflow:local", name
        assert service["volumes"] == common["volumes"], name
        env = env_of(service)
        missing = {k for k in common_env if env.get(k) != common_env[k]}
        assert not missing, f"{name} lacks or changes common settings {sorted(missing)}"


def test_secrets_are_identical_across_airflow_services_and_follow_the_environment():
    custom = {"AIRFLOW_JWT_SECRET": "jwt-" + "x" * 40, "AIRFLOW_API_SECRET_KEY": "key-" + "y" * 40}
    for env, expected in (({}, None), (custom, custom)):
        services = load(env)["services"]
        jwt = {env_of(services[n])["AIRFLOW__API_AUTH__JWT_SECRET"] for n in AIRFLOW_SERVICES}
        key = {env_of(services[n])["AIRFLOW__API__SECRET_KEY"] for n in AIRFLOW_SERVICES}
        assert len(jwt) == 1 and len(key) == 1
        (jwt_value,), (key_value,) = jwt, key
        # PyJWT warns about HMAC keys under 32 bytes: the default must not be one.
        assert len(jwt_value) >= 32
        if expected:
            assert (jwt_value, key_value) == (expected["AIRFLOW_JWT_SECRET"], expected["AIRFLOW_API_SECRET_KEY"])


def test_common_airflow_settings(doc):
    env = env_of(doc["x-airflow-common"])
    assert env["AIRFLOW__CORE__EXECUTOR"] == "CeleryExecutor"
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"].lower() == "false"
    assert env["LLMMON_HOME"] == "/opt/airflow"
    assert env["AIRFLOW__SCHEDULER__ENABLE_HEALTH_CHECK"].lower() == "true"


def test_depends_on_names_existing_services_and_never_an_optional_one(services):
    conditions = {"service_started", "service_healthy", "service_completed_successfully"}
    for name, service in services.items():
        for dep, spec in (service.get("depends_on") or {}).items():
            assert dep in services, f"{name} depends on unknown service {dep}"
            assert dep != name
            assert spec["condition"] in conditions, (name, dep)
            assert not services[dep].get("profiles"), f"{name} depends on {dep}, which only runs in a profile"
            if spec["condition"] == "service_healthy":
                assert "healthcheck" in services[dep], f"{name} waits for {dep} to be healthy; it has no healthcheck"
    for name in AIRFLOW_SERVICES - {"airflow-init"}:
        assert services[name]["depends_on"]["airflow-init"]["condition"] == "service_completed_successfully"
    assert services["airflow-worker"]["depends_on"]["airflow-apiserver"]["condition"] == "service_healthy"


# -- URLs agree with the services they name -----------------------------------------------------------------

def test_metadata_db_url_and_result_backend_point_at_postgres(doc, services):
    env = env_of(doc["x-airflow-common"])
    pg = env_of(services["postgres"])
    assert services["postgres"]["image"] == "postgres:16"
    for key, prefix in (("AIRFLOW__DATABASE__SQL_ALCHEMY_CONN", ""), ("AIRFLOW__CELERY__RESULT_BACKEND", "db+")):
        value = env[key]
        assert value.startswith(prefix + "postgresql"), key
        url = make_url(value.removeprefix(prefix))
        assert (url.host, url.port or 5432) == ("postgres", 5432), key
        assert (url.username, url.password, url.database) == (
            pg["POSTGRES_USER"], pg["POSTGRES_PASSWORD"], pg["POSTGRES_DB"]), key


def test_broker_points_at_redis(doc, services):
    broker = env_of(doc["x-airflow-common"])["AIRFLOW__CELERY__BROKER_URL"]
    m = re.fullmatch(r"redis://(?::[^@]*@)?([^:/]+):(\d+)/\d+", broker)
    assert m, broker
    assert m.group(1) == "redis" and services["redis"]["image"].startswith("redis:")
    assert int(m.group(2)) in services["redis"]["expose"]


@pytest.mark.parametrize("env", [{}, {"LLMMON_WAREHOUSE_USER": "wh", "LLMMON_WAREHOUSE_PASSWORD": "pw9",
                                      "LLMMON_WAREHOUSE_DB": "mon"}])
def test_warehouse_url_points_at_the_warehouse_db(env):
    doc = load(env)
    url = make_url(env_of(doc["x-airflow-common"])["LLMMON_WAREHOUSE_URL"])
    wh = env_of(doc["services"]["warehouse-db"])
    assert url.drivername == "postgresql+psycopg2"
    assert (url.host, url.port) == ("warehouse-db", 5432)
    assert (url.username, url.password, url.database) == (
        wh["POSTGRES_USER"], wh["POSTGRES_PASSWORD"], wh["POSTGRES_DB"])
    if env:
        assert (url.username, url.password, url.database) == ("wh", "pw9", "mon")
    # The warehouse is a different database server from Airflow's metadata.
    assert url.host != make_url(env_of(doc["x-airflow-common"])["AIRFLOW__DATABASE__SQL_ALCHEMY_CONN"]).host


def test_execution_api_points_at_the_api_server(doc, services):
    url = env_of(doc["x-airflow-common"])["AIRFLOW__CORE__EXECUTION_API_SERVER_URL"]
    assert url == "http://airflow-apiserver:8080/execution/"
    assert any(p.endswith(":8080") for p in services["airflow-apiserver"]["ports"])


def test_demo_server_is_optional_and_matches_llmmon_demo_url(doc, services):
    demo = services["demo-server"]
    assert demo["profiles"] == ["demo"]
    argv = command_argv(demo["command"])
    assert argv[:2] == ["llmmon", "demo-server"]
    port = argv[argv.index("--port") + 1]
    assert argv[argv.index("--host") + 1] == "0.0.0.0"  # noqa: S104 - it must listen on the compose network
    assert env_of(doc["x-airflow-common"])["LLMMON_DEMO_URL"] == f"http://demo-server:{port}/v1"
    assert demo["build"] == doc["x-airflow-common"]["build"] and demo["image"] == doc["x-airflow-common"]["image"]
    # The Airflow entrypoint would run "airflow llmmon ..." and wait for the metadata DB.
    assert "/entrypoint" not in " ".join(command_argv(demo["entrypoint"]))


def test_simple_auth_manager_users_get_their_passwords(doc, services):
    env = env_of(doc["x-airflow-common"])
    users = dict(u.split(":") for u in env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_USERS"].split(","))
    assert users == {"admin": "admin", "deployer": "user"}  # "user" may trigger DAG runs and unpause DAGs
    init = services["airflow-init"]
    script = command_argv(init["command"])[-1]
    passwords_file = env["AIRFLOW__CORE__SIMPLE_AUTH_MANAGER_PASSWORDS_FILE"]
    assert f"> {passwords_file}" in script
    init_env = env_of(init)
    assert (init_env["AIRFLOW_ADMIN_USERNAME"], init_env["LLMMON_DEPLOY_USERNAME"]) == ("admin", "deployer")
    # The file is written by airflow-init and read by the api-server: it must be on a shared volume.
    folder = str(Path(passwords_file).parent)
    for name in ("airflow-init", "airflow-apiserver"):
        assert any(v.split(":")[1] == folder for v in services[name]["volumes"]), name
    assert init_env["_AIRFLOW_DB_MIGRATE"] == "true"


# -- mounts and the image -----------------------------------------------------------------------------------

def test_every_mounted_host_path_exists_and_named_volumes_are_declared(doc, services):
    declared = set(doc.get("volumes") or {})
    for name, service in services.items():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith((".", "/", "~")):
                assert (ROOT / source).resolve().is_dir(), f"{name} mounts {source}, which is not in the repo"
                assert (ROOT / source).resolve().is_relative_to(ROOT), f"{name} mounts {source} outside the repo"
            else:
                assert source in declared, f"{name} uses undeclared named volume {source}"


def test_project_folders_are_mounted_where_airflow_and_llmmon_look(doc):
    mounts = dict(bind_mounts(doc["x-airflow-common"]))
    assert mounts == {"./dags": "/opt/airflow/dags", "./plugins": "/opt/airflow/plugins",
                      "./include": "/opt/airflow/include", "./golden_sets": "/opt/airflow/golden_sets"}
    # The embedded config resolves golden_sets_dir "golden_sets" against LLMMON_HOME.
    assert env_of(doc["x-airflow-common"])["LLMMON_HOME"] + "/golden_sets" == mounts["./golden_sets"]


def test_image_installs_requirements_and_the_project_editable_where_include_is_mounted(doc):
    build = doc["x-airflow-common"]["build"]
    assert (ROOT / build["context"]).resolve() == ROOT
    dockerfile = build["dockerfile_inline"]
    lines = [line.strip() for line in dockerfile.replace("\\\n", " ").splitlines() if line.strip()]
    assert lines[0] == f"FROM apache/airflow:{AIRFLOW_VERSION}-python3.11"
    copies: dict[str, str] = {}
    for line in lines:
        if line.startswith("COPY"):
            args = [a for a in line.split()[1:] if not a.startswith("--")]
            *sources, dest = args
            matched = [s for s in sources if glob.glob(str(ROOT / s))]
            assert matched, f"COPY sources {sources} match nothing in the repo"
            for s in sources:
                if "*" not in s:
                    assert (ROOT / s).exists(), f"COPY source {s} is not in the repo"
                copies[s] = dest
    run = " ".join(line for line in lines if line.startswith("RUN"))
    assert re.search(r"pip install [^&]*-r /opt/airflow/requirements\.txt", run)
    assert re.search(r"pip install [^&]*-e /opt/airflow(\s|$)", run)
    assert copies["pyproject.toml"] == copies["requirements.txt"] == "/opt/airflow/"
    assert copies["include"] == "/opt/airflow/include"
    # The editable install maps llmmon to /opt/airflow/include, which the compose file mounts live code over.
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert pyproject["tool"]["setuptools"]["packages"]["find"]["where"] == ["include"]
    assert ("./include", "/opt/airflow/include") in bind_mounts(doc["x-airflow-common"])
    # The image's Airflow is the version requirements.txt pins, so pip does not replace it.
    assert f"apache-airflow=={AIRFLOW_VERSION}" in (ROOT / "requirements.txt").read_text(encoding="utf-8").split()


# -- commands -----------------------------------------------------------------------------------------------

def airflow_argvs(services: dict[str, Any]) -> dict[str, list[str]]:
    """Every airflow CLI invocation in the file (commands and healthchecks), without the leading 'airflow'."""
    found: dict[str, list[str]] = {}
    for name, service in services.items():
        if name in AIRFLOW_SERVICES - {"airflow-init"}:
            argv = command_argv(service["command"])
            assert argv[0] == "airflow", f"{name}: command should be an airflow subcommand, got {argv}"
            found[f"{name} command"] = argv[1:]
        test = (service.get("healthcheck") or {}).get("test") or []
        if len(test) == 2 and test[0] == "CMD-SHELL" and test[1].startswith("airflow "):
            found[f"{name} healthcheck"] = shlex.split(test[1].replace("${HOSTNAME}", "host"))[1:]
    script = command_argv(services["airflow-init"]["command"])[-1]
    for line in script.splitlines():
        if line.strip().startswith("/entrypoint airflow"):
            found["airflow-init entrypoint"] = shlex.split(line)[2:]
    return found


def test_airflow_commands_are_real_subcommands(services, tmp_path):
    argvs = airflow_argvs(services)
    assert argvs["airflow-worker command"] == ["celery", "worker"]
    assert {argvs[f"airflow-{s} command"][0] for s in ("apiserver", "scheduler", "dag-processor", "triggerer")} == {
        "api-server", "scheduler", "dag-processor", "triggerer"}
    celery = {k: v for k, v in argvs.items() if v[0] == "celery"}
    core = {k: v for k, v in argvs.items() if v[0] != "celery"}
    # Ask Airflow's own argument parser, in a child process so this one never imports airflow.
    probe = (
        "import json, sys\n"
        "from airflow.cli.cli_parser import get_parser\n"
        "parser = get_parser()\n"
        "bad = {}\n"
        "for key, argv in json.loads(sys.argv[1]).items():\n"
        "    try:\n"
        "        ns = parser.parse_args(argv)\n"
        "        if not hasattr(ns, 'func'):\n"
        "            bad[key] = 'not a command'\n"
        "    except SystemExit as exc:\n"
        "        bad[key] = f'exit {exc.code}'\n"
        "print(json.dumps(bad))\n"
    )
    env = {**os.environ, "AIRFLOW_HOME": str(tmp_path), "AIRFLOW__CORE__LOAD_EXAMPLES": "false"}
    done = subprocess.run([sys.executable, "-c", probe, json.dumps(core)], capture_output=True, text=True,
                          env=env, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {}
    for key, argv in celery.items():
        assert argv[1] in CELERY_SUBCOMMANDS, key


def llmmon_argvs(services: dict[str, Any]) -> dict[str, list[str]]:
    """Every llmmon CLI invocation in the file, without the leading 'llmmon' / 'python -m llmmon.cli'."""
    found = {"demo-server command": command_argv(services["demo-server"]["command"])}
    assert found["demo-server command"][0] == "llmmon"
    found["demo-server command"] = found["demo-server command"][1:]
    script = command_argv(services["airflow-init"]["command"])[-1]
    for line in script.splitlines():
        if line.lstrip().startswith("#") or "llmmon.cli" not in line:
            continue
        argv = shlex.split(line)
        if "llmmon.cli" in argv:
            found["airflow-init warehouse"] = argv[argv.index("llmmon.cli") + 1:]
    assert "airflow-init warehouse" in found, "airflow-init should create the warehouse tables"
    return found


def test_llmmon_commands_are_real_subcommands(services):
    cli = importlib.import_module("llmmon.cli") if importlib.util.find_spec("llmmon.cli") else None
    if cli is None or not hasattr(cli, "build_parser"):
        pytest.skip("llmmon.cli.build_parser is not written yet; the llmmon commands cannot be checked")
    argvs = llmmon_argvs(services)
    assert argvs["airflow-init warehouse"] == ["warehouse", "upgrade"]
    parser = cli.build_parser()
    for key, argv in argvs.items():
        try:
            ns = parser.parse_args(argv)
        except SystemExit as exc:
            pytest.fail(f"{key}: llmmon {' '.join(argv)} is not accepted by the llmmon CLI (exit {exc.code})")
        assert callable(getattr(ns, "func", None)), key
    demo = parser.parse_args(argvs["demo-server command"])
    assert (demo.host, demo.port) == ("0.0.0.0", 8765)  # noqa: S104 - it must listen on the compose network


def test_docker_compose_config_accepts_the_file():
    docker = shutil.which("docker")
    if docker is None:
        pytest.skip("the docker CLI is not installed")
    probe = subprocess.run([docker, "compose", "version"], capture_output=True, text=True, check=False)
    if probe.returncode != 0:
        pytest.skip("the docker compose plugin is not installed (docker CLI only); validated with PyYAML above")
    done = subprocess.run([docker, "compose", "-f", str(COMPOSE), "--profile", "demo", "config", "--quiet"],
                          capture_output=True, text=True, cwd=ROOT, timeout=60, check=False)
    assert done.returncode == 0, done.stderr
