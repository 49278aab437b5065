"""Per-request features of production spans, computed the same way for the reference and the current window.

Numeric: ``prompt_chars``, ``prompt_tokens`` (the span's input tokens), ``output_tokens``, ``ttft_s``,
``latency_s`` (the span's duration), ``embedding_distance`` (cosine distance of the prompt's embedding from the
reference centroid) and ``oov_rate`` (share of the prompt's tokens missing from the reference vocabulary).
Categorical: ``prompt_template``, ``user_segment``, ``language`` (script and language guess) and ``attack_signal``
(``yes`` when the prompt matches an injection/jailbreak pattern or sits close to a known attack prompt).
Window-level: the token counts of each window and a bounded sample of its prompts' tokens (``vocabulary``).

The centroid and the vocabulary come from one half of the reference (a seeded split); the reference's own
distances and OOV rates are measured on the other half. Measured on the rows that built them, they would be
biased low (a reference prompt is never out of its own vocabulary) and every window would look drifted.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from llmmon.drift.embeddings import Embedder
from llmmon.drift.text import AttackSet, language_of, tokens

ATTACK, BENIGN = "yes", "no"
VOCABULARY_SAMPLE = 5000  # prompts per side in the vocabulary permutation test


@dataclass
class Features:
    """The features of one window: numeric arrays (NaN = null), categorical lists (None = null), token counts."""

    n: int
    numeric: dict[str, np.ndarray] = field(default_factory=dict)
    categorical: dict[str, list[Any]] = field(default_factory=dict)
    token_counts: Counter = field(default_factory=Counter)
    token_sample: list[list[str]] = field(default_factory=list)
    prompts_with_text: int = 0


def _floats(values: Sequence[Any]) -> np.ndarray:
    return np.array([np.nan if v is None else float(v) for v in values], dtype=np.float64)


def _sample(n: int, limit: int, rng: np.random.Generator) -> np.ndarray:
    return np.arange(n) if n <= limit else np.sort(rng.choice(n, size=limit, replace=False))


def _text_features(
    prompts: Sequence[str | None], feats: Features, wanted: set[str], embedder: Embedder | None,
    attacks: AttackSet | None, attack_vectors: np.ndarray | None, similarity: float, max_embed: int,
    rng: np.random.Generator, *, vocabulary: set[str], build: np.ndarray | None = None,
) -> tuple[np.ndarray | None, np.ndarray]:
    """Language, token counts, OOV rates and attack patterns of every prompt, in one pass that keeps no token
    lists beyond the bounded vocabulary sample (memory stays flat for a million prompts); embeddings of up to
    ``max_embed`` prompts. With ``build`` (the reference), the prompts where it is True add their tokens to
    ``vocabulary`` and get no OOV rate; the others are measured once the vocabulary is complete."""
    n = len(prompts)
    want_lang, want_vocab, want_oov = "language" in wanted, "vocabulary" in wanted, "oov_rate" in wanted
    in_sample = np.zeros(n, dtype=bool)
    if want_vocab:
        in_sample[_sample(n, VOCABULARY_SAMPLE, rng)] = True
    language: list[Any] = [None] * n
    oov = np.full(n, np.nan)
    held: list[tuple[int, list[str]]] = []
    counts = feats.token_counts
    for i, p in enumerate(prompts):
        if not p:
            continue
        feats.prompts_with_text += 1
        t = tokens(p)
        if want_lang:
            language[i] = language_of(p, t)
        if not t:
            continue
        if want_vocab:
            counts.update(t)
            if in_sample[i]:
                feats.token_sample.append(t)
        if want_oov:
            if build is None:
                oov[i] = _oov(t, vocabulary)
            elif build[i]:
                vocabulary.update(t)
            else:
                held.append((i, t))
    for i, t in held:
        oov[i] = _oov(t, vocabulary)
    if want_lang:
        feats.categorical["language"] = language
    if want_oov:
        feats.numeric["oov_rate"] = oov if vocabulary else np.full(n, np.nan)  # no reference text: nothing to compare
    need_vectors = embedder is not None and ({"embedding_distance", "attack_signal"} & wanted)
    rows = _sample(n, max_embed, rng)
    vectors = embedder.embed([prompts[i] for i in rows]) if need_vectors and len(rows) else None
    if "attack_signal" in wanted and attacks is not None:
        signal: list[Any] = [None if not p else (ATTACK if attacks.matches(p) else BENIGN) for p in prompts]
        if vectors is not None and attack_vectors is not None and len(attack_vectors):
            close = (vectors @ attack_vectors.T).max(axis=1) >= similarity
            for i, hit in zip(rows, close, strict=True):
                if hit and prompts[i]:
                    signal[i] = ATTACK
        feats.categorical["attack_signal"] = signal
    return vectors, rows


def compute_features(
    ref: dict[str, list[Any]], cur: dict[str, list[Any]], *, features: Sequence[str], embedder: Embedder | None,
    attacks: AttackSet | None, similarity: float = 0.7, max_embed: int = 100_000, seed: int = 0,
) -> tuple[Features, Features]:
    """Features of the reference and current windows from their ``llm_spans`` columns (``drift_store``)."""
    rng = np.random.default_rng(seed)
    wanted = set(features)
    out = []
    n_ref, n_cur = len(ref["prompt"]), len(cur["prompt"])
    for cols, n in ((ref, n_ref), (cur, n_cur)):
        f = Features(n=n)
        for name, column in (("prompt_tokens", "input_tokens"), ("output_tokens", "output_tokens"),
                             ("ttft_s", "ttft_s"), ("latency_s", "duration_s")):
            if name in wanted:
                f.numeric[name] = _floats(cols[column])
        if "prompt_chars" in wanted:
            f.numeric["prompt_chars"] = np.array([np.nan if p is None else len(p) for p in cols["prompt"]],
                                                 dtype=np.float64)
        for name in ("prompt_template", "user_segment"):
            if name in wanted:
                f.categorical[name] = list(cols[name])
        out.append(f)
    f_ref, f_cur = out
    # Split the reference: half A builds the centroid and vocabulary, half B is the reference distribution.
    half = rng.random(n_ref) < 0.5
    vocabulary: set[str] = set()
    attack_vectors = embedder.embed(list(attacks.prompts)) if embedder and attacks and attacks.prompts else None
    ref_vec, ref_rows = _text_features(ref["prompt"], f_ref, wanted, embedder, attacks, attack_vectors, similarity,
                                       max_embed, rng, vocabulary=vocabulary, build=half)
    cur_vec, cur_rows = _text_features(cur["prompt"], f_cur, wanted, embedder, attacks, attack_vectors, similarity,
                                       max_embed, rng, vocabulary=vocabulary)
    if "embedding_distance" in wanted:
        f_ref.numeric["embedding_distance"] = np.full(n_ref, np.nan)
        f_cur.numeric["embedding_distance"] = np.full(n_cur, np.nan)
        if ref_vec is not None and cur_vec is not None:
            has_ref = np.array([bool(ref["prompt"][i]) for i in ref_rows], dtype=bool)
            build = has_ref & half[ref_rows]
            if build.any():
                centroid = ref_vec[build].mean(axis=0)
                norm = np.linalg.norm(centroid)
                if norm > 0:
                    centroid = centroid / norm
                    held = has_ref & ~half[ref_rows]
                    f_ref.numeric["embedding_distance"][ref_rows[held]] = 1.0 - ref_vec[held] @ centroid
                    has_cur = np.array([bool(cur["prompt"][i]) for i in cur_rows], dtype=bool)
                    f_cur.numeric["embedding_distance"][cur_rows[has_cur]] = 1.0 - cur_vec[has_cur] @ centroid
    return f_ref, f_cur


def _oov(toks: list[str], vocabulary: set[str]) -> float:
    return sum(1 for w in toks if w not in vocabulary) / len(toks)
