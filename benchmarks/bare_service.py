"""The bare limit for the serving benchmark: the least a Python web service can do to answer
``POST /recommendations`` with the same model, on the same machine, in the same run.

    .venv/bin/python benchmarks/bare_service.py MODEL_URI --port PORT

One FastAPI route on uvicorn (one worker, uvloop and httptools, access log off, as
`mlwb serve` runs), the registered recommender loaded once and scored with the same
``Recommender.recommend`` (so the answers are the same), the items' titles and scores in an
orjson-serialised answer. Nothing else: no metrics, no prediction log, no request ids, no model
headers, no validation beyond what a KeyError gives, no hot swap. What `mlwb serve` costs above
this is the service around the model; the machine's speed is in both, so their ratio carries
from one machine to another where absolute milliseconds do not.
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import argparse  # noqa: E402

import numpy as np  # noqa: E402
import orjson  # noqa: E402
import uvicorn  # noqa: E402
from fastapi import FastAPI, Request  # noqa: E402
from fastapi.responses import Response  # noqa: E402


def bare_app(model_uri: str) -> FastAPI:
    from mlworkbench.training.recommender import RECOMMENDER

    model = RECOMMENDER.load_model(model_uri)
    titles = dict(zip(model.item_ids.tolist(), model.titles.tolist(), strict=True))
    app = FastAPI()

    @app.get("/ready")
    async def ready() -> dict:
        return {"ready": True}

    @app.post("/recommendations")
    async def recommendations(request: Request) -> Response:
        asked = orjson.loads(await request.body())
        recs = model.recommend(np.asarray(asked["users"], dtype=np.int64), asked.get("k", 10))
        answer = [{"user": user, "fallback": "popular" if fallback else None,
                   "items": [{"id": item, "title": titles[item], "score": round(score, 6)}
                             for item, score in zip(items, scores, strict=True) if item >= 0]}
                  for user, fallback, items, scores in zip(
                      recs.user_ids.tolist(), recs.fallback.tolist(), recs.item_ids.tolist(),
                      recs.scores.tolist(), strict=True)]
        return Response(orjson.dumps({"recommendations": answer}),
                        media_type="application/json")

    return app


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("model_uri")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    uvicorn.run(bare_app(args.model_uri), host="127.0.0.1", port=args.port, workers=1,
                loop="uvloop", http="httptools", access_log=False, log_level="warning")


if __name__ == "__main__":
    main()
