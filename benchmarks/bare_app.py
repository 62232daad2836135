"""The baseline for benchmarks/healthz.py: a bare Flask hello-world answering like /healthz."""

from flask import Flask

app = Flask(__name__)


@app.get("/healthz")
def healthz() -> dict:
    return {"status": "pass"}
