"""Prompt embeddings from a pluggable provider: local hashed n-grams (default) or an OpenAI-compatible endpoint.

``LocalHashedEmbedder`` needs no network and no model: the lower-cased UTF-8 bytes of a prompt are cut into
character 3-, 4- and 5-grams, each n-gram is hashed, and the hash picks one of ``dimensions`` coordinates and a
sign (signed feature hashing: a fixed sparse random projection of the n-gram count vector, Weinberger et al.
2009, "Feature hashing for large scale multitask learning"). The vector is L2-normalised. Everything is vectorised
in numpy, in chunks, so 100,000 prompts take about a second. Prompts that share phrasing land close together:
enough for drift of the prompt population and for "close to a known attack prompt", not a semantic model.

``OpenAIEmbedder`` calls ``POST {base_url}/embeddings`` of an endpoint of ``settings.endpoints`` with the official
openai SDK (the production choice: any OpenAI-compatible server; the demo server has one).
``SentenceTransformersEmbedder`` runs a local sentence-transformers model, an optional extra (not installed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Protocol

import numpy as np

from llmmon.errors import ConfigError, EndpointError

if TYPE_CHECKING:
    from llmmon.config import SecretResolver, Settings

NGRAMS = (3, 4, 5)
_CHUNK = 8192  # prompts per vectorised chunk: bounds memory (about 60 bytes per input byte)
_PRIME = np.uint64(0x100000001B3)  # FNV-1a 64-bit prime: the rolling polynomial's base
_MIX = np.uint64(0x9E3779B97F4A7C15)  # Fibonacci hashing: spreads the polynomial hash over all 64 bits


class Embedder(Protocol):
    """Turns prompts into unit vectors (a zero row for a missing or empty prompt)."""

    name: str

    def embed(self, texts: Sequence[str | None]) -> np.ndarray: ...


def _normalise(vectors: np.ndarray) -> np.ndarray:
    norms = np.linalg.norm(vectors, axis=1, keepdims=True)
    return np.divide(vectors, norms, out=np.zeros_like(vectors), where=norms > 0)


class LocalHashedEmbedder:
    """Signed feature hashing of character n-grams into ``dimensions`` coordinates (numpy only, deterministic)."""

    def __init__(self, dimensions: int = 256, seed: int = 0) -> None:
        if dimensions < 2:
            raise ConfigError(f"embedding dimensions must be at least 2, got {dimensions}")
        self.dimensions = dimensions
        self.seed = np.uint64(seed)
        self.name = f"local:hashed-ngrams-{dimensions}"

    def embed(self, texts: Sequence[str | None]) -> np.ndarray:
        out = np.zeros((len(texts), self.dimensions), dtype=np.float32)
        for start in range(0, len(texts), _CHUNK):
            out[start:start + _CHUNK] = self._chunk(texts[start:start + _CHUNK])
        return out

    def _chunk(self, texts: Sequence[str | None]) -> np.ndarray:
        encoded = [(t or "").lower().encode("utf-8") for t in texts]
        lengths = np.fromiter((len(b) for b in encoded), dtype=np.int64, count=len(encoded))
        buf = np.frombuffer(b"".join(encoded), dtype=np.uint8).astype(np.uint64)
        row = np.repeat(np.arange(len(encoded), dtype=np.int64), lengths)
        dim = np.uint64(self.dimensions)
        keys, weights = [], []
        with np.errstate(over="ignore"):  # uint64 arithmetic wraps: that is the hash
            for k in NGRAMS:
                m = len(buf) - k + 1
                if m <= 0:
                    continue
                h = np.full(m, np.uint64(k) + self.seed, dtype=np.uint64)
                for j in range(k):
                    h = h * _PRIME + buf[j:j + m]
                valid = row[:m] == row[k - 1:]  # the n-gram lies inside one prompt
                h = h[valid] * _MIX
                keys.append(row[:m][valid] * self.dimensions + ((h >> np.uint64(20)) % dim).astype(np.int64))
                weights.append(np.where((h >> np.uint64(63)) == 1, 1.0, -1.0))
        if not keys:
            return np.zeros((len(encoded), self.dimensions), dtype=np.float32)
        flat = np.bincount(np.concatenate(keys), weights=np.concatenate(weights),
                           minlength=len(encoded) * self.dimensions)
        return _normalise(flat.reshape(len(encoded), self.dimensions)).astype(np.float32)


class OpenAIEmbedder:
    """Embeddings from an OpenAI-compatible ``/v1/embeddings`` (official SDK), in batches, vectors normalised."""

    def __init__(self, base_url: str, model: str, *, api_key: str | None, batch_size: int = 256,
                 timeout_s: float = 30.0, max_retries: int = 4, dimensions: int | None = None) -> None:
        from openai import OpenAI

        from llmmon.endpoints.client import PLACEHOLDER_API_KEY

        self.model = model
        self.batch_size = batch_size
        self.dimensions = dimensions
        self.name = f"openai:{model}"
        self._secret = api_key
        self._client = OpenAI(base_url=base_url, api_key=api_key or PLACEHOLDER_API_KEY, timeout=timeout_s,
                              max_retries=max_retries)

    def embed(self, texts: Sequence[str | None]) -> np.ndarray:
        import openai

        present = [i for i, t in enumerate(texts) if t]
        vectors: np.ndarray | None = None
        for start in range(0, len(present), self.batch_size):
            idx = present[start:start + self.batch_size]
            try:
                resp = self._client.embeddings.create(model=self.model, input=[texts[i] for i in idx])
            except openai.OpenAIError as exc:
                message = str(exc).replace(self._secret, "***") if self._secret else str(exc)
                raise EndpointError(f"embeddings from {self._client.base_url} (model {self.model}): {message}") from None
            data = sorted(resp.data, key=lambda d: d.index)
            if len(data) != len(idx):
                raise EndpointError(f"embeddings from {self._client.base_url}: asked for {len(idx)} vectors, "
                                    f"got {len(data)}")
            batch = np.asarray([d.embedding for d in data], dtype=np.float32)
            if vectors is None:
                vectors = np.zeros((len(texts), batch.shape[1]), dtype=np.float32)
            vectors[idx] = batch
        if vectors is None:
            return np.zeros((len(texts), self.dimensions or 1), dtype=np.float32)
        return _normalise(vectors)


class SentenceTransformersEmbedder:
    """A local sentence-transformers model (optional extra: ``pip install sentence-transformers``), normalised."""

    def __init__(self, model: str, batch_size: int = 256) -> None:
        try:
            from sentence_transformers import SentenceTransformer
        except ImportError:
            raise ConfigError(
                "drift.embedding.provider sentence_transformers needs the optional package sentence-transformers "
                "(with torch, about 1.4 GB): pip install sentence-transformers, or use provider local or openai"
            ) from None
        self.name = f"sentence_transformers:{model}"
        self.batch_size = batch_size
        self._model = SentenceTransformer(model)

    def embed(self, texts: Sequence[str | None]) -> np.ndarray:
        present = [i for i, t in enumerate(texts) if t]
        dim = self._model.get_sentence_embedding_dimension() or 1
        out = np.zeros((len(texts), dim), dtype=np.float32)
        if present:
            out[present] = self._model.encode([texts[i] for i in present], batch_size=self.batch_size,
                                              convert_to_numpy=True, show_progress_bar=False)
        return _normalise(out)


def make_embedder(settings: Settings, secrets: SecretResolver | None = None) -> Embedder:
    """The embedder ``settings.drift.embedding`` configures (``secrets`` resolves an endpoint's API key)."""
    cfg = settings.drift.embedding
    if cfg.provider == "local":
        return LocalHashedEmbedder(cfg.dimensions)
    if cfg.provider == "sentence_transformers":
        return SentenceTransformersEmbedder(cfg.model, cfg.batch_size)
    endpoint = settings.endpoint(cfg.endpoint)
    api_key = None
    if endpoint.api_key is not None:
        from llmmon.config import env_secret_resolver

        api_key = (secrets or env_secret_resolver())(endpoint.api_key)
    return OpenAIEmbedder(endpoint.base_url, cfg.model or endpoint.model, api_key=api_key,
                          batch_size=cfg.batch_size, timeout_s=endpoint.timeout_s, max_retries=endpoint.max_retries)
