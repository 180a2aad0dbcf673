"""Soak of SPEC §6: 50 connections for 5 minutes over a page mix, with no errors and a worker
whose memory stays flat (growth < 10 %).

The mix: the overview page, the live-usage fragment and a copy-log page (signed-in session),
``/api/v1/status`` and ``/metrics`` (bearer token), one after the other on every connection.
``wrk`` from Debian drives it on loopback in rounds; the worker's RSS is read between rounds.
``BENCH_SOAK_SECONDS`` shortens (or lengthens, up to an hour) the soak for a quick check.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import psutil

from bench.http import (  # it also puts tests/ on the path
    REPO,
    in_loopback_namespace,
    network_note,
    session_cookie,
    verdict,
    wrk_missing,
)

from e2e_support import start_server

CONNECTIONS = 50
SECONDS = min(3600, max(10, int(os.environ.get("BENCH_SOAK_SECONDS", "300"))))
ROUNDS = 5
WARM_UP_SECONDS = 5
COPY_LOGS = REPO / "tests" / "data" / "copylogs" / "root1"
MIX_SCRIPT = """
local mix = {%s}
local threads = {}
local requests = {}
for _, item in ipairs(mix) do
  table.insert(requests, wrk.format("GET", item[1], {[item[2]] = item[3]}))
end

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  sent = 0
  non2xx = 0
end

function request()
  sent = sent + 1
  return requests[(sent %% #requests) + 1]
end

function response(status, headers, body)
  if status < 200 or status > 299 then
    non2xx = non2xx + 1
  end
end

function done(summary, latency, requests)
  local failed = 0
  for _, thread in ipairs(threads) do
    failed = failed + thread:get("non2xx")
  end
  io.write(string.format("REQUESTS %%d\\n", summary.requests))
  io.write(string.format("NON2XX %%d\\n", failed))
  io.write(string.format("ERRORS %%d\\n", summary.errors.connect + summary.errors.read
                          + summary.errors.write + summary.errors.timeout))
  io.write(string.format("P95_MS %%.3f\\n", latency:percentile(95) / 1000))
end
"""


def lua_string(text: str) -> str:
    return json.dumps(text)  # a JSON string of printable ASCII is a valid Lua string


def mix_script(cookie: str, token: str, log_id: str) -> str:
    signed_in = ("Cookie", cookie)
    bearer = ("Authorization", f"Bearer {token}")
    mix = [("/", *signed_in), ("/usage", *signed_in), (f"/copy-logs/{log_id}", *signed_in),
           ("/api/v1/status", *bearer), ("/metrics", *bearer)]
    items = ", ".join("{" + ", ".join(lua_string(part) for part in item) + "}" for item in mix)
    return MIX_SCRIPT % items


def wrk(url: str, seconds: int, script: Path) -> dict[str, float]:
    args = ["wrk", "-t2", f"-c{CONNECTIONS}", f"-d{seconds}s", "--timeout", "10s",
            "-s", str(script), url]
    out = subprocess.run(args, capture_output=True, text=True, timeout=seconds + 60).stdout
    figures = dict(re.findall(r"^(REQUESTS|NON2XX|ERRORS|P95_MS) (\S+)$", out, re.M))
    return {key: float(value) for key, value in figures.items()}


def worker_rss(master_pid: int) -> int:
    workers = psutil.Process(master_pid).children()
    return sum(worker.memory_info().rss for worker in workers)


def first_copy_log(server, token: str) -> str:
    status, body = server.get("/api/v1/copylogs", headers={"Authorization": f"Bearer {token}"})
    if status != 200:
        raise RuntimeError(f"listing copy logs answered {status}")
    return json.loads(body)["items"][0]["id"]


def run() -> str:
    if missing := wrk_missing("Soak"):
        return missing
    return in_loopback_namespace("soak", measure)


def measure() -> str:
    with tempfile.TemporaryDirectory() as tmp:
        return soak(Path(tmp))


def soak(workdir: Path) -> str:
    root = workdir / "copylogs"
    shutil.copytree(COPY_LOGS, root)
    server = start_server(workdir, env_extra={"WEBUI_COPYLOG_ROOTS": str(root)})
    try:
        token = server.cli("token", "create", "--name", "soak").stdout.strip()
        script = workdir / "mix.lua"
        script.write_text(mix_script(session_cookie(server), token,
                                     first_copy_log(server, token)))
        cold_rss = worker_rss(server.process.pid)
        wrk(server.url + "/", WARM_UP_SECONDS, script)
        start_rss = worker_rss(server.process.pid)
        rounds, samples = [], [start_rss]
        for _ in range(ROUNDS):
            rounds.append(wrk(server.url + "/", SECONDS // ROUNDS, script))
            samples.append(worker_rss(server.process.pid))
    finally:
        server.stop()
    return report(rounds, cold_rss, samples)


def report(rounds: list[dict[str, float]], cold_rss: int, samples: list[int]) -> str:
    requests = sum(r.get("REQUESTS", 0) for r in rounds)
    non2xx = sum(r.get("NON2XX", 0) for r in rounds)
    errors = sum(r.get("ERRORS", 0) for r in rounds)
    # A round wrk could not report on counts as an error, never as a clean round.
    errors += sum(1 for r in rounds if "REQUESTS" not in r)
    growth = samples[-1] / samples[0] - 1
    mib = 1 << 20
    trend = " → ".join(f"{rss / mib:.1f}" for rss in samples)
    p95s = [r.get("P95_MS", 0) for r in rounds]
    p95 = f"{min(p95s):.0f}–{max(p95s):.0f}"
    return "\n".join([
        "## Soak",
        "",
        f"Command: `python -m bench soak` — `edge-webui serve` (gunicorn, 1 gthread worker, 8 "
        f"threads, TLS) on loopback, loaded by `wrk -t2 -c{CONNECTIONS}` for {SECONDS} s in "
        f"{ROUNDS} rounds after a {WARM_UP_SECONDS} s warm-up, each connection cycling through "
        "`/`, `/usage` and a copy-log page (signed-in session), `/api/v1/status` and `/metrics` "
        "(bearer token). Worker RSS is read after the warm-up and after every round. "
        + network_note(),
        "",
        "| what | measured | target | |",
        "|---|---|---|---|",
        f"| requests | {requests:.0f} ({requests / SECONDS:.0f} req/s; p95 per round {p95} ms) "
        "| — | |",
        f"| non-2xx answers | **{non2xx:.0f}** | 0 | {verdict(non2xx == 0)} |",
        f"| connection errors and timeouts | **{errors:.0f}** | 0 | {verdict(errors == 0)} |",
        f"| worker RSS, start → end of the soak | {trend} MiB = **{growth * 100:+.1f} %** "
        f"(before the warm-up {cold_rss / mib:.1f} MiB) | < 10 % | {verdict(growth < 0.10)} |",
    ])


if __name__ == "__main__":
    print(run())
