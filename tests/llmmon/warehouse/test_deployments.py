"""Deployments: idempotent recording, and the latest / previous deployment as of a time."""

from __future__ import annotations

import pytest

from llmmon.warehouse import WarehouseError
from llmmon.warehouse.schema import deployments

from . import hours, table_rows


def _record(warehouse, deploy_id: str, endpoint: str, version: str, at: float, **kw) -> dict:
    return warehouse.record_deployment(
        deploy_id, endpoint=endpoint, model=f"model-{version}", model_version=version, deployed_at=hours(at),
        **kw,
    )


def test_record_deployment_twice_converges_and_keeps_first_recorded_at(warehouse):
    row = _record(warehouse, "dep-1", "demo", "v1", 0, source="deploy_hook", stage="canary",
                  details={"commit": "abc123", "ticket": "OPS-7"}, recorded_at=hours(0.5))
    assert row == {
        "deploy_id": "dep-1", "endpoint": "demo", "model": "model-v1", "model_version": "v1", "stage": "canary",
        "source": "deploy_hook", "deployed_at": hours(0), "recorded_at": hours(0.5),
        "details": {"commit": "abc123", "ticket": "OPS-7"},
    }
    again = _record(warehouse, "dep-1", "demo", "v1", 0, source="deploy_hook", stage="canary",
                    details={"commit": "abc123", "ticket": "OPS-7"}, recorded_at=hours(9))
    assert again == row
    assert table_rows(warehouse, deployments) == [row]

    # A corrected report updates the facts but not when llmmon first heard of it.
    fixed = _record(warehouse, "dep-1", "demo", "v1", 0.25, source="deploy_hook", stage="production")
    assert fixed["deployed_at"] == hours(0.25) and fixed["stage"] == "production" and fixed["details"] is None
    assert fixed["recorded_at"] == hours(0.5)


def test_record_deployment_refuses_an_unknown_source(warehouse):
    with pytest.raises(WarehouseError, match="source 'jenkins' is not one of deploy_hook, airflow, provider, manual"):
        _record(warehouse, "dep-1", "demo", "v1", 0, source="jenkins")
    assert table_rows(warehouse, deployments) == []


@pytest.fixture
def history(warehouse):
    """Endpoint demo: v1 at 0h, v1.1 at 1h, v2 at 2h, v2 again at 3h, v3 at 4h. Endpoint other: v9 at 3.5h."""
    _record(warehouse, "d0-v1", "demo", "v1", 0)
    _record(warehouse, "d1-v1.1", "demo", "v1.1", 1)
    _record(warehouse, "d2-v2", "demo", "v2", 2)
    _record(warehouse, "d3-v2-again", "demo", "v2", 3)
    _record(warehouse, "d4-v3", "demo", "v3", 4)
    _record(warehouse, "o-v9", "other", "v9", 3.5)
    return warehouse


def _id(row: dict | None) -> str | None:
    return row["deploy_id"] if row else None


def test_latest_deployment(history):
    assert _id(history.latest_deployment("demo")) == "d4-v3"
    assert _id(history.latest_deployment("demo", before=hours(3.9))) == "d3-v2-again"
    assert _id(history.latest_deployment("demo", before=hours(2))) == "d2-v2"  # at `before` counts
    assert _id(history.latest_deployment("demo", before=hours(-0.1))) is None
    assert _id(history.latest_deployment("other")) == "o-v9"
    assert _id(history.latest_deployment("nowhere")) is None


def test_previous_deployment_skips_redeploys_of_the_same_version(history):
    assert _id(history.previous_deployment("demo", "v3", before=hours(4))) == "d3-v2-again"
    assert _id(history.previous_deployment("demo", "v2", before=hours(3))) == "d1-v1.1"
    assert _id(history.previous_deployment("demo", "v1.1", before=hours(1))) == "d0-v1"
    assert _id(history.previous_deployment("demo", "v1", before=hours(0))) is None  # strictly before
    assert _id(history.previous_deployment("other", "v9", before=hours(10))) is None


def test_latest_deployment_breaks_ties_by_deploy_id(warehouse):
    _record(warehouse, "a", "demo", "v1", 1)
    _record(warehouse, "b", "demo", "v2", 1)
    assert _id(warehouse.latest_deployment("demo")) == "b"
