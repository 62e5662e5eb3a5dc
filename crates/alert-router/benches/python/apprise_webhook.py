#!/usr/bin/env python3
"""Apprise baseline for the delivery benchmark.

Sends COUNT notifications one after the other through Apprise's JSON webhook
plugin (json://) to the local sink the Rust benchmark runs, and prints one JSON
line: {"tool": "apprise", "version": ..., "count": ..., "ok": ..., "seconds": ...,
"warmup": ..., "rate": ..., "max_rss_kb": ...}. The WARMUP sends before the
timed ones (default 50) are not in "count", "seconds" or "rate"; the sink sees
WARMUP + COUNT requests. "max_rss_kb" is the peak RSS of this Python process
(getrusage, kB on Linux), the whole process as for the Rust side.

Usage: apprise_webhook.py --url json://127.0.0.1:PORT/hook --count 2000
Needs `pip install apprise`. Exits 2 when Apprise is not installed.
"""
import argparse
import json
import resource
import sys
import time


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--url", required=True, help="json://127.0.0.1:PORT/path")
    p.add_argument("--count", type=int, default=2000)
    p.add_argument("--warmup", type=int, default=50)
    args = p.parse_args()
    if not args.url.startswith("json://127.0.0.1:"):
        print("refusing a non-loopback URL", file=sys.stderr)
        return 1
    try:
        import apprise
    except ImportError:
        print(json.dumps({"tool": "apprise", "error": "apprise is not installed"}))
        return 2
    ap = apprise.Apprise()
    if not ap.add(args.url):
        print(json.dumps({"tool": "apprise", "error": "apprise refused the URL"}))
        return 1
    for i in range(args.warmup):
        ap.notify(title="warmup", body=f"warmup {i}")
    ok = 0
    t0 = time.perf_counter()
    for i in range(args.count):
        if ap.notify(title=f"AccuracyDrop {i}", body=f"Accuracy fell to 0.81 (seq {i})"):
            ok += 1
    dt = time.perf_counter() - t0
    print(json.dumps({
        "tool": "apprise",
        "version": getattr(apprise, "__version__", "?"),
        "count": args.count,
        "warmup": args.warmup,
        "ok": ok,
        "seconds": dt,
        "rate": args.count / dt if dt > 0 else 0.0,
        "max_rss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss,
    }))
    return 0 if ok == args.count else 1


if __name__ == "__main__":
    sys.exit(main())
