"""The price table: the latest entry effective on the day applies; unknown means None, never free."""

from __future__ import annotations

import datetime as dt

import pytest

from llmmon.config import Price
from llmmon.prices import PriceTable

D = dt.date


@pytest.fixture
def table() -> PriceTable:
    return PriceTable([
        Price(model="gpt-x", input_per_mtok=3.0, output_per_mtok=15.0, effective_from=D(2026, 3, 1)),
        Price(model="gpt-x", input_per_mtok=2.5, output_per_mtok=10.0, effective_from=D(2026, 1, 1)),
        Price(model="free-tier", input_per_mtok=0.0, output_per_mtok=0.0, effective_from=D(2026, 1, 1)),
    ])


def test_latest_effective_entry_applies(table: PriceTable) -> None:
    # 1,000 input and 200 output tokens: 1000*2.5/1e6 + 200*10/1e6 = 0.0025 + 0.002.
    assert table.cost("gpt-x", 1000, 200, D(2026, 2, 28)) == pytest.approx(0.0045)
    # From March 1 the new price: 1000*3/1e6 + 200*15/1e6 = 0.003 + 0.003.
    assert table.cost("gpt-x", 1000, 200, D(2026, 3, 1)) == pytest.approx(0.006)
    assert table.cost("gpt-x", 1000, 200, D(2027, 1, 1)) == pytest.approx(0.006)


def test_effective_day_counts_for_a_timestamp(table: PriceTable) -> None:
    at = dt.datetime(2026, 3, 1, 0, 0, 1)
    assert table.rates("gpt-x", at).effective_from == D(2026, 3, 1)


def test_unknown_model_or_not_yet_priced_is_none(table: PriceTable) -> None:
    assert table.cost("no-such-model", 10, 10, D(2026, 6, 1)) is None
    assert table.cost("gpt-x", 10, 10, D(2025, 12, 31)) is None
    assert table.rates("gpt-x", D(2025, 12, 31)) is None


def test_unknown_tokens_give_no_cost(table: PriceTable) -> None:
    assert table.cost("gpt-x", None, 10, D(2026, 6, 1)) is None


def test_a_zero_price_is_zero_not_none(table: PriceTable) -> None:
    assert table.cost("free-tier", 500, 500, D(2026, 6, 1)) == 0.0


def test_rates_and_models(table: PriceTable) -> None:
    r = table.rates("gpt-x", D(2026, 2, 1))
    assert (r.input_per_mtok, r.output_per_mtok, r.effective_from) == (2.5, 10.0, D(2026, 1, 1))
    assert table.models == ["free-tier", "gpt-x"]
