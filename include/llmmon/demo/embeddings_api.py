"""The demo model server's ``POST /v1/embeddings`` (OpenAI-compatible, deterministic).

Vectors come from llmmon's local hashed n-gram embedder (the same text always gives the same vector; similar
texts give close vectors), so the drift job can be pointed at the demo server as an OpenAI-compatible provider.
Models: ``llmmon-demo-embed`` and the demo's chat models. Input: a string or a list of up to 2,048 non-empty
strings; ``dimensions`` (16..4096, default 256) and ``encoding_format`` (``float`` or ``base64``) as in the OpenAI
API. Usage counts tokens with the demo's deterministic counter. Errors use the OpenAI error body.
"""

from __future__ import annotations

import base64
import json
from functools import lru_cache

from aiohttp import web

EMBED_MODEL = "llmmon-demo-embed"
DEFAULT_DIMENSIONS = 256
MAX_INPUTS = 2048
MAX_CHARS = 100_000  # per input: far above real limits' order (8k tokens), keeps a bad request cheap


def _models() -> set[str]:
    from llmmon.demo.profiles import DEFAULT_MODELS

    return {EMBED_MODEL, *(m.name for m in DEFAULT_MODELS)}


@lru_cache(maxsize=16)
def _embedder(dimensions: int):
    from llmmon.drift.embeddings import LocalHashedEmbedder

    return LocalHashedEmbedder(dimensions)


def _error(status: int, message: str, param: str | None = None, code: str | None = None) -> web.Response:
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    return web.json_response(body, status=status)


async def _embeddings(request: web.Request) -> web.Response:
    try:
        body = await request.json()
    except (json.JSONDecodeError, UnicodeDecodeError):
        return _error(400, "the request body is not valid JSON")
    if not isinstance(body, dict):
        return _error(400, "the request body must be a JSON object")
    model = body.get("model")
    if not isinstance(model, str) or not model:
        return _error(400, "you must provide a model parameter", "model")
    if model not in _models():
        return _error(404, f"The model `{model}` does not exist", "model", "model_not_found")
    raw = body.get("input")
    texts = [raw] if isinstance(raw, str) else raw
    if not isinstance(texts, list) or not texts:
        return _error(400, "'input' must be a non-empty string or a non-empty array of strings", "input")
    if len(texts) > MAX_INPUTS:
        return _error(400, f"'input' has {len(texts)} items; at most {MAX_INPUTS}", "input")
    for i, t in enumerate(texts):
        if not isinstance(t, str):
            return _error(400, f"input[{i}] must be a string (token arrays are not supported by the demo server)",
                          "input")
        if not t:
            return _error(400, f"input[{i}] is empty", "input")
        if len(t) > MAX_CHARS:
            return _error(400, f"input[{i}] has {len(t)} characters; at most {MAX_CHARS}", "input")
    dimensions = body.get("dimensions", DEFAULT_DIMENSIONS)
    if not isinstance(dimensions, int) or isinstance(dimensions, bool) or not 16 <= dimensions <= 4096:
        return _error(400, "'dimensions' must be an integer from 16 to 4096", "dimensions")
    encoding = body.get("encoding_format", "float")
    if encoding not in ("float", "base64"):
        return _error(400, "'encoding_format' must be 'float' or 'base64'", "encoding_format")

    from llmmon.demo.tokens import count_tokens

    vectors = _embedder(dimensions).embed(texts)
    data = []
    for i, vec in enumerate(vectors):
        embedding = (base64.b64encode(vec.astype("<f4").tobytes()).decode() if encoding == "base64"
                     else [float(x) for x in vec])
        data.append({"object": "embedding", "index": i, "embedding": embedding})
    tokens = sum(count_tokens(t) for t in texts)
    return web.json_response({"object": "list", "data": data, "model": model,
                              "usage": {"prompt_tokens": tokens, "total_tokens": tokens}})


def add_routes(app: web.Application) -> None:
    """Register this module's routes on the demo server's application."""
    app.router.add_post("/v1/embeddings", _embeddings)
