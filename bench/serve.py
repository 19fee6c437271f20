"""How soon ``agentops serve`` answers control requests, and how soon it is ready for LLM calls.

For each run: spawn ``agentops serve --port 0`` on a fresh store, then poll until
(1) the first authenticated ``GET /v1/status`` answers 200 (control requests are
served) and (2) ``GET /readyz`` answers 200 (litellm loaded, calls can be made).
The baseline, measured in the same run, is spawning the same interpreter to import
FastAPI and exit: the floor any FastAPI server pays on this machine.

    uv run python bench/serve.py [--runs 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
AGENTOPS = str(Path(sys.executable).with_name("agentops"))
TOKEN = "bench-secret-0123456789"


def baseline() -> float:
    t0 = time.perf_counter()
    subprocess.run([sys.executable, "-c", "import fastapi"], check=True)
    return time.perf_counter() - t0


def one_run() -> tuple[float, float]:
    with tempfile.TemporaryDirectory() as tmp:
        env = {
            **os.environ,
            "AGENTOPS_CONFIG": str(ROOT / "config.toml"),
            "AGENTOPS_STORE__PATH": str(Path(tmp) / "agentops.db"),
            "AGENTOPS_TOKENS": f"bench:viewer:{TOKEN}",
        }
        t0 = time.perf_counter()
        proc = subprocess.Popen(
            [AGENTOPS, "serve", "--port", "0"], env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()
            url = line.split("control API on ", 1)[1].split()[0]
            headers = {"Authorization": f"Bearer {TOKEN}"}
            with httpx.Client(base_url=url, headers=headers, timeout=5) as http:
                while http.get("/v1/status").status_code != 200:
                    time.sleep(0.005)
                control = time.perf_counter() - t0
                while http.get("/readyz").status_code != 200:
                    time.sleep(0.02)
                ready = time.perf_counter() - t0
        finally:
            proc.terminate()
            proc.wait(30)
    return control, ready


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    runs = parser.parse_args().runs
    base = [baseline() for _ in range(runs)]
    results = [one_run() for _ in range(runs)]
    control = statistics.median(r[0] for r in results)
    ready = statistics.median(r[1] for r in results)
    b = statistics.median(base)
    print(f"baseline (python -c 'import fastapi'): median {b:.2f} s over {runs} runs")
    print(f"first control request answered:        median {control:.2f} s  ({control / b:.2f}x baseline)")
    print(f"ready for LLM calls (/readyz 200):     median {ready:.2f} s  ({ready / b:.2f}x baseline)")
    print("each run, control:", " ".join(f"{r[0]:.2f}" for r in results))
    print("each run, ready:  ", " ".join(f"{r[1]:.2f}" for r in results))


if __name__ == "__main__":
    main()
