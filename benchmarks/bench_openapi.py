"""GET /api/v1/openapi.json: time per request of three ways to answer it, through the real app (Flask's WSGI
client), rounds interleaved so the machine's load hits all three alike:

- rebuilt: the description built and encoded on every request;
- encoded per request: built once per application, encoded to JSON on every request (the code before this one);
- built once: built and encoded once per application, the same bytes served after (``app.api.openapi``).

The three are served by the same view wrapper at /bench-openapi/<way> (the app-level request hooks run for each),
and the real /api/v1/openapi.json is timed too. The database is only opened by the request hooks.

    python benchmarks/bench_openapi.py                                   # a throwaway migrated SQLite database
    python benchmarks/bench_openapi.py --url postgresql+psycopg://postgres@127.0.0.1:5432/DB --requests 200
"""

from __future__ import annotations

import argparse
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import nullcontext
from typing import Any

from _common import sqlite_database
from flask import Flask, current_app, jsonify

from app import create_app
from app.access import public
from app.api import openapi_document
from app.api.spec import build_spec
from app.api.types import ErrorOut


def rebuilt(app: Flask) -> bytes:
    return jsonify(build_spec(app, ErrorOut)).get_data()


def encoded_per_request(app: Flask) -> bytes:
    spec = app.extensions.get("bench.openapi_dict")
    if spec is None:
        spec = app.extensions["bench.openapi_dict"] = build_spec(app, ErrorOut)
    return jsonify(spec).get_data()


WAYS: dict[str, Callable[[Flask], bytes]] = {"rebuilt": rebuilt, "encoded per request": encoded_per_request,
                                            "built once": openapi_document}


def serve(way: str) -> Any:
    return current_app.response_class(WAYS[way](current_app), mimetype="application/json")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--url", help="database URL (default: a throwaway migrated SQLite database)")
    parser.add_argument("--requests", type=int, default=100, help="requests per way and round")
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with (nullcontext(args.url) if args.url else sqlite_database()) as url, tempfile.TemporaryDirectory() as tmp:
        app = create_app({"TESTING": True, "SECRET_KEY": "bench", "DATABASE_URL": url, "UPLOAD_DIR": tmp})
        app.add_url_rule("/bench-openapi/<way>", "bench_openapi", public(serve))
        client = app.test_client()
        paths = {way: f"/bench-openapi/{way}" for way in WAYS} | {"GET /api/v1/openapi.json": "/api/v1/openapi.json"}
        bodies = {name: client.get(path).get_data() for name, path in paths.items()}  # warm, and the same answer
        assert len(set(bodies.values())) == 1, "the ways answer different documents"
        times: dict[str, list[float]] = {name: [] for name in paths}
        for _ in range(args.rounds):
            for name, path in paths.items():
                for _ in range(args.requests):
                    start = time.perf_counter()
                    response = client.get(path)
                    times[name].append(time.perf_counter() - start)
                    assert response.status_code == 200
        size = len(next(iter(bodies.values())))
        print(f"openapi.json ({size} bytes), {args.rounds} interleaved rounds x {args.requests} requests per way")
        base = statistics.median(times["encoded per request"])
        for name, values in times.items():
            median = statistics.median(values)
            print(f"  {name:26} median {median * 1000:8.3f} ms  p95 {statistics.quantiles(values, n=20)[-1] * 1000:8.3f} ms"
                  f"  ({median / base:.2f} x encoded per request)")


if __name__ == "__main__":
    main()
