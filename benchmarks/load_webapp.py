#!/usr/bin/env python
"""Load test of the web app on 127.0.0.1 only: N concurrent clients post a page for D seconds.

Every answer is checked against the first one (same lines, same text), corrections are
posted during the run and all must be on disk at the end. Stops by itself. Writes
requests/s and p50/p95 latency of the OCR requests, and of /api/health polled meanwhile, to
benchmarks/results.json under "webapp_load", per --backend.
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--image", type=Path, default=ROOT.parent / "shared" / "reference" / "20000-leagues-006.jpg")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--seconds", type=float, default=60)
    parser.add_argument("--checkpoint", type=Path, default=ROOT / "checkpoints" / "default")
    parser.add_argument("--backend", default="auto", help="recognizer backend: auto (default), onnx or keras")
    parser.add_argument("--page-memory-mb", type=float, default=64,
                        help="the app's in-memory page cache, MB (default: 64, the app's default)")
    parser.add_argument("--workers", type=int, default=None,
                        help="the server's reading processes (default: serve.py's, one per core); 1: threads")
    parser.add_argument("--soak", action="store_true",
                        help="soak test: 10 minutes (or --seconds), every 4th upload a distinct page, and the "
                        "server's memory sampled: it must not keep growing")
    args = parser.parse_args(argv)
    if args.soak and args.seconds == parser.get_default("seconds"):
        args.seconds = 600

    import tempfile

    import httpx

    corrections = Path(tempfile.mkdtemp(prefix="crnn-load-")) / "corrections"
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # the server runs in a process of its own, as a user runs it: its memory is then the app's
    # alone, not mixed with the load clients' threads and buffers
    server = subprocess.Popen(
        [sys.executable, str(ROOT / "scripts" / "serve.py"), "--port", str(port), "--checkpoint", str(args.checkpoint),
         "--corrections-dir", str(corrections), "--backend", args.backend,
         "--page-memory-mb", str(args.page_memory_mb),
         *(["--workers", str(args.workers)] if args.workers else [])], cwd=ROOT)
    url = f"http://127.0.0.1:{port}"
    try:
        return run_load(args, server, url, corrections, httpx)
    finally:
        server.terminate()
        server.wait(timeout=30)


def run_load(args: argparse.Namespace, server: subprocess.Popen, url: str, corrections: Path, httpx) -> int:
    """Drive the server at ``url`` with the configured load and write the figures."""
    deadline = time.time() + 120
    while True:
        try:
            if httpx.get(f"{url}/api/health", timeout=5).status_code == 200:
                break
        except httpx.TransportError:
            pass
        if server.poll() is not None or time.time() > deadline:
            print("error: the web app did not start", file=sys.stderr)
            return 1
        time.sleep(0.2)
    data = args.image.read_bytes()
    expected = httpx.post(f"{url}/api/ocr", files={"image": ("p.jpg", data, "image/jpeg")}, timeout=120).json()
    expected_text = expected["text"]
    latencies: list[float] = []
    wrong: list[str] = []
    saved_ids: list[str] = []
    lock = threading.Lock()
    stop_at = time.time() + args.seconds

    def client(number: int) -> None:
        with httpx.Client(timeout=300) as session:
            count = 0
            while time.time() < stop_at:
                distinct = args.soak and count % 4 == 3
                upload = ("p.png", distinct_page(number * 100_000 + count), "image/png") if distinct \
                    else ("p.jpg", data, "image/jpeg")
                started = time.perf_counter()
                response = session.post(f"{url}/api/ocr", files={"image": upload})
                elapsed = time.perf_counter() - started
                body = response.json()
                with lock:
                    latencies.append(elapsed)
                    if response.status_code != 200 or (not distinct and body.get("text") != expected_text):
                        wrong.append(f"client {number}: {response.status_code}")
                count += 1
                if count % 3 == 0:
                    lines = max(1, sum(len(block["lines"]) for block in body["blocks"]))
                    saved = session.post(f"{url}/api/corrections", json={
                        "page_id": body["page_id"], "line_index": number % lines,
                        "text": f"client {number} pass {count}"})
                    with lock:
                        if saved.status_code == 200:
                            saved_ids.extend(r["id"] for r in saved.json()["saved"])
                        else:
                            wrong.append(f"correction: {saved.status_code}")

    health_latencies: list[float] = []
    memory_mb: list[float] = []

    def resident_mb() -> float:
        """The resident memory of the server process and of its reading processes."""
        total = 0.0
        for pid in [server.pid, *descendants(server.pid)]:
            try:
                status = Path(f"/proc/{pid}/status").read_text()
            except OSError:  # a process that just ended
                continue
            total += next((int(line.split()[1]) / 1024 for line in status.splitlines()
                           if line.startswith("VmRSS:")), 0.0)
        return total

    def memory_probe() -> None:
        while time.time() < stop_at:
            memory_mb.append(resident_mb())
            time.sleep(2)

    def distinct_page(number: int) -> bytes:
        import cv2
        import numpy as np

        page = np.full((1400, 1000), 235, np.uint8)
        for row in range(12):
            cv2.putText(page, f"soak page {number} line {row} of the load test", (60, 100 + 100 * row),
                        cv2.FONT_HERSHEY_SIMPLEX, 1.1, 20, 2)
        return cv2.imencode(".png", page)[1].tobytes()

    def health_probe() -> None:
        """What a new visitor waits for while the app is busy: GET /api/health, five times a second."""
        with httpx.Client(timeout=60) as session:
            while time.time() < stop_at:
                started = time.perf_counter()
                answer = session.get(f"{url}/api/health")
                health_latencies.append(time.perf_counter() - started)
                if answer.status_code != 200:
                    with lock:
                        wrong.append(f"health: {answer.status_code}")
                time.sleep(0.2)

    started = time.perf_counter()
    workers = [threading.Thread(target=client, args=(i,)) for i in range(args.clients)]
    workers.append(threading.Thread(target=health_probe))
    workers.append(threading.Thread(target=memory_probe))
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    wall = time.perf_counter() - started
    on_disk = {p.name.removesuffix(".gt.txt") for p in corrections.glob("*.gt.txt")}
    lost = [i for i in saved_ids if i not in on_disk]
    latencies.sort()
    health_latencies.sort()
    result = {
        "backend": args.backend, "clients": args.clients, "seconds": round(wall, 1), "requests": len(latencies),
        "requests_per_second": round(len(latencies) / wall, 2),
        "p50_seconds": round(statistics.median(latencies), 2),
        "p95_seconds": round(latencies[int(0.95 * (len(latencies) - 1))], 2),
        "health_p50_ms": round(1000 * statistics.median(health_latencies), 1),
        "health_p95_ms": round(1000 * health_latencies[int(0.95 * (len(health_latencies) - 1))], 1),
        "memory_mb_first_minute": round(max(memory_mb[:30]), 1) if memory_mb else None,
        "memory_mb_last_minute": round(max(memory_mb[-30:]), 1) if memory_mb else None,
        "memory_mb_max": round(max(memory_mb), 1) if memory_mb else None,
        # samples every 2 s: the peak of each minute shows whether memory levels off
        "memory_mb_per_minute": [round(max(memory_mb[i:i + 30]), 1) for i in range(0, len(memory_mb), 30)],
        "memory_growing": memory_growing(memory_mb) if args.soak else None,
        "wrong_answers": len(wrong), "corrections_saved": len(saved_ids), "corrections_lost": len(lost),
        "workers": args.workers or "default", "date": time.strftime("%Y-%m-%d"),
    }
    print(json.dumps(result))
    results_path = ROOT / "benchmarks" / "results.json"
    results = json.loads(results_path.read_text()) if results_path.exists() else {}
    results.setdefault("webapp_load", {})
    if "requests_per_second" in results["webapp_load"]:  # results of before there were backends
        results["webapp_load"] = {}
    name = args.backend + (f" workers={args.workers}" if args.workers else "") + (" soak" if args.soak else "")
    results["webapp_load"][name] = result
    results_path.write_text(json.dumps(results, indent=1) + "\n")
    return 0 if not wrong and not lost and not result["memory_growing"] else 1


def descendants(pid: int) -> list[int]:
    """The process ids of ``pid``'s children, theirs, and so on (from /proc)."""
    parents: dict[int, list[int]] = {}
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        parents.setdefault(int(fields[1]), []).append(int(stat.parent.name))
    found, todo = [], [pid]
    while todo:
        children = parents.get(todo.pop(), [])
        found += children
        todo += children
    return found


def memory_growing(samples: list[float], tolerance: float = 0.05) -> bool:
    """Whether memory still grows at the end of a soak: the last quarter's peak above the third
    quarter's by more than ``tolerance``. The first half is warm-up: the page cache (up to its
    bound), the reading threads' buffers and the allocator's arenas fill, and then must stay."""
    if len(samples) < 8:
        return False
    quarter = len(samples) // 4
    return max(samples[-quarter:]) > max(samples[2 * quarter:3 * quarter]) * (1 + tolerance)


if __name__ == "__main__":
    sys.exit(main())
