"""Resolve llmmon secret references through Airflow: connections via Airflow's API, env vars directly."""

from __future__ import annotations

from llmmon.config import ConfigError, SecretRef, SecretResolver, env_secret_resolver


def airflow_secret_resolver() -> SecretResolver:
    """A resolver for task code: ``airflow_connection`` refs read the connection (any secrets backend).

    The secret is the connection's password; for HTTP-style connections without one (webhooks), the URL
    built from schema, host, port and path. The value is never logged.
    """
    from_env = env_secret_resolver()

    def resolve(ref: SecretRef) -> str:
        if ref.env is not None:
            return from_env(ref)
        from airflow.sdk import Connection

        try:
            conn = Connection.get(ref.airflow_connection)
        except Exception as exc:  # Airflow raises its own not-found types; name the ref, not the value
            raise ConfigError(f"secret {ref.describe()}: Airflow connection not found ({type(exc).__name__})") from None
        if conn.password:
            return conn.password
        extra = conn.extra_dejson or {}
        if extra.get("url"):
            return str(extra["url"])
        if conn.host:
            host = conn.host if "://" in conn.host else f"{conn.schema or 'https'}://{conn.host}"
            return f"{host}:{conn.port}" if conn.port else host
        raise ConfigError(f"secret {ref.describe()}: the connection has neither a password nor a host/url")

    return resolve
