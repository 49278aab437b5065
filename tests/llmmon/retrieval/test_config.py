"""``settings.retrieval``: defaults load without a section; bad values are ConfigErrors naming the key."""

from __future__ import annotations

import pytest
import yaml

from llmmon.config import DEFAULTS_PATH, load_settings
from llmmon.errors import ConfigError


def _load(tmp_path, retrieval: dict):
    doc = yaml.safe_load(DEFAULTS_PATH.read_text(encoding="utf-8"))
    doc["retrieval"] = retrieval
    path = tmp_path / "llmmon.yaml"
    path.write_text(yaml.safe_dump(doc), encoding="utf-8")
    return load_settings(path, env={"LLMMON_HOME": str(tmp_path)})


def test_defaults():
    r = load_settings(DEFAULTS_PATH, env={}).retrieval
    assert r.suite == "rag_support" and r.retriever().name == "demo" and r.retriever().index_version == "v1"
    assert r.metric_names[:6] == ["recall@1", "precision@1", "hit@1", "mrr@1", "ndcg@1", "map@1"]
    assert r.metric_names[-1] == "map" and r.regression.metrics == ["recall@10", "ndcg@10", "mrr@10"]


def test_a_configured_retriever(tmp_path):
    r = _load(tmp_path, {"retrievers": [{"name": "search", "url": "https://search.internal/v2/retrieve",
                                         "top_k": 20}], "ks": [5, 20],
                         "regression": {"metrics": ["recall@20", "ndcg@5"], "alpha": 0.1}}).retrieval
    assert r.retriever().url.endswith("/v2/retrieve") and r.regression.alpha == 0.1


@pytest.mark.parametrize("section, words", [
    ({"retrievers": [{"name": "x"}]}, "exactly one of url"),
    ({"retrievers": [{"name": "x", "url": "ftp://x"}]}, "http(s) URL"),
    ({"regression": {"metrics": ["recall"]}}, "needs a cutoff"),
    ({"regression": {"metrics": ["f1@5"]}}, "unknown metric"),
    ({"regression": {"metrics": ["recall@20"]}}, "needs cutoff 20 in ks"),
    ({"default_retriever": "nope"}, "default_retriever"),
    ({"retrievers": [{"name": "a", "endpoint": "demo"}, {"name": "a", "endpoint": "demo"}]}, "unique"),
    ({"retrievers": [{"name": "a", "endpoint": "demo", "top_k": 5}]}, "below the largest cutoff"),
    ({"bogus": 1}, "bogus"),
])
def test_bad_values_name_the_key(tmp_path, section, words):
    with pytest.raises(ConfigError, match="retrieval") as err:
        _load(tmp_path, section)
    assert words in str(err.value)
