"""`GET /api/client/features` (the Unleash SDKs' poll): CPU time per request, 20 flags.

The answer is made once per snapshot and environment (plain and gzip bytes, with their ETag) and served
in front of Flask (nous.front). Measured two ways, each side by side with a baseline in the same run:

1. In process: the app's WSGI callable called directly, CPU time (time.process_time) per request for a
   plain 200, a gzip 200 and a 304; the baseline is the same request answered by the Flask route (a
   query string the front handler leaves to Flask: `?project=default`, which builds the answer anew).
2. Under gunicorn (2 gthread workers) with wrk -t2 -c32: the workers' CPU seconds (psutil) divided by
   the requests they answered, for the SDK's usual request (gzip asked) and a 304, against /healthz.

Target: <= 0.35 ms of CPU per request (the usual gzip 200): in process; and under gunicorn on top of
what gunicorn itself spends on any request (/healthz's CPU per request, measured in the same run).

    .venv/bin/python benchmarks/client_features.py [--runs 7] [--calls 5000] [--seconds 6]

Runs on its own SQLite file and embedded Redis in a temporary folder. Exit status 1 when a target is missed.
"""

from __future__ import annotations

import argparse
import io
import shutil
import sys
import tempfile
import time
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from _common import Gunicorn, median, wrk
from flags import app_with_twenty_flags, setup_environment, twenty_flags

TARGET_MS = 0.35


def _environ(path: str, query: str, token: str, **headers: str) -> dict[str, object]:
    env: dict[str, object] = {
        "REQUEST_METHOD": "GET", "PATH_INFO": path, "QUERY_STRING": query, "SERVER_NAME": "127.0.0.1",
        "SERVER_PORT": "80", "SERVER_PROTOCOL": "HTTP/1.1", "REMOTE_ADDR": "127.0.0.1", "wsgi.url_scheme": "http",
        "wsgi.input": io.BytesIO(b""), "wsgi.errors": sys.stderr, "wsgi.multithread": True,
        "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.version": (1, 0), "HTTP_AUTHORIZATION": token}
    env.update({f"HTTP_{k.upper()}": v for k, v in headers.items()})
    return env


def cpu_ms_per_request(app: object, environ: dict[str, object], calls: int, runs: int) -> tuple[float, int, str]:
    status: list[str] = []

    def start_response(s: str, _headers: list[tuple[str, str]]) -> None:
        status.append(s)

    size = 0
    times = []
    for _ in range(runs):
        started = time.process_time()
        for _ in range(calls):
            body = b"".join(app(dict(environ), start_response))  # type: ignore[operator]
        times.append((time.process_time() - started) * 1000 / calls)
        size = len(body)
    return median(times), size, status[-1]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=7)
    parser.add_argument("--calls", type=int, default=5000)
    parser.add_argument("--seconds", type=int, default=6)
    args = parser.parse_args()

    folder = Path(tempfile.mkdtemp(prefix="nous-bench-client-features-"))
    redis_proc = setup_environment(folder)
    try:
        app, token = app_with_twenty_flags()

        path = "/api/client/features"
        wsgi = app.wsgi_app
        first = _environ(path, "", token)
        seen: list[tuple[str, str]] = []
        for _ in range(2):  # the first call builds the snapshot and the bytes
            b"".join(wsgi(dict(first), lambda _s, h: seen.extend(h)))  # type: ignore[operator]
        etag = dict(seen)["ETag"]
        cases = [
            ("plain 200", _environ(path, "", token)),
            ("gzip 200 (what the SDKs ask)", _environ(path, "", token, accept_encoding="gzip, deflate")),
            ("304 (the SDK holds the ETag)", _environ(path, "", token, if_none_match=etag)),
            ("baseline: the Flask route building it", _environ(path, "project=default", token)),
        ]
        print(f"python {sys.version.split()[0]}; {len(twenty_flags())} flags; in process, CPU ms per request, "
              f"median of {args.runs} runs of {args.calls:,} calls")
        local = {}
        for label, environ in cases:
            local[label], size, status = cpu_ms_per_request(wsgi, environ, args.calls, args.runs)
            print(f"  {label:<40}{local[label]:>8.3f} ms   {status:<16}{size / 1024:>7.1f} KB")
        usual = local["gzip 200 (what the SDKs ask)"]
        print(f"  the usual poll costs {usual / local['baseline: the Flask route building it']:.0%} of the baseline")

        served = True
        if shutil.which("wrk"):
            server = Gunicorn("wsgi:app")
            lua_gzip = folder / "gzip.lua"
            lua_gzip.write_text(f'wrk.headers["Authorization"] = "{token}"\n'
                                'wrk.headers["Accept-Encoding"] = "gzip, deflate"\n')
            lua_304 = folder / "304.lua"
            lua_304.write_text(f'wrk.headers["Authorization"] = "{token}"\nwrk.headers["If-None-Match"] = \'{etag}\'\n')
            try:
                url = server.url
                assert requests.get(f"{url}{path}", headers={"Authorization": token}, timeout=5).status_code == 200
                wrk(f"{url}{path}", seconds=2, script=str(lua_gzip))
                print(f"\nunder gunicorn (2 gthread workers), wrk -t2 -c32 {args.seconds}s: "
                      "workers' CPU ms per request")
                remote = {}
                for label, target, script in (("/healthz", "/healthz", None),
                                              ("features, gzip 200", path, str(lua_gzip)),
                                              ("features, 304", path, str(lua_304)),
                                              ("baseline: the Flask route", f"{path}?project=default",
                                               str(lua_gzip))):
                    run = wrk(f"{url}{target}", seconds=args.seconds, script=script, server=server)
                    remote[label], rps = run["cpu_ms"], run["rps"]
                    print(f"  {label:<40}{remote[label]:>8.3f} ms   {rps:>10,.0f} req/s")
            finally:
                server.stop()
            added = remote["features, gzip 200"] - remote["/healthz"]
            print(f"  the poll adds {added:.3f} ms to what gunicorn spends on any request (/healthz); the Flask "
                  f"route added {remote['baseline: the Flask route'] - remote['/healthz']:.3f} ms")
            served = added <= TARGET_MS
        else:
            print("\n(wrk is not installed: apt-get install -y wrk; the gunicorn measurement was skipped)")
        ok = usual <= TARGET_MS and served
        print(f"\ntarget <= {TARGET_MS} ms CPU per request (the usual gzip 200; under gunicorn, above /healthz): "
              f"{'met' if ok else 'MISSED'}")
        return 0 if ok else 1
    finally:
        if redis_proc is not None:
            redis_proc.terminate()  # type: ignore[attr-defined]
        shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
