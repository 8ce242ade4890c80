#!/usr/bin/env python3
"""Clients that pipeline and disconnect, against one well-behaved client.

`--abusers` connections each write `--requests` pipelined requests (default
`{"op":"popular","domain":"movies","k":1000}`) without reading a single answer, stay
connected `--linger` seconds, close, and start over, for `--seconds`. Meanwhile one more connection sends `health` and
`recommend` one at a time and times each answer. Prints the well-behaved client's
latency percentiles and the daemon's resident memory (VmRSS from /proc) before, at its
highest sample, and after the abusers stopped.

Standard library only: a client nobody on the project wrote.
"""
import argparse
import json
import os
import socket
import threading
import time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def abuser(path, payload, linger, deadline, counters, lock):
    while time.monotonic() < deadline:
        conn = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            conn.connect(path)
            # A send that the daemon does not take within a second is given up: the client
            # then closes, as a client that gave up waiting would.
            conn.settimeout(1.0)
            sent = 0
            try:
                while sent < len(payload):
                    sent += conn.send(payload[sent:])
            except (socket.timeout, OSError):
                pass
            with lock:
                counters["connections"] += 1
                counters["bytes"] += sent
            # Holding the connection open without reading leaves the daemon with answers
            # nobody takes, until the close.
            time.sleep(linger)
        except OSError:
            with lock:
                counters["refused"] += 1
            time.sleep(0.05)
        finally:
            conn.close()


def percentile(sorted_values, q):
    if not sorted_values:
        return float("nan")
    index = min(len(sorted_values) - 1, int(q * len(sorted_values)))
    return sorted_values[index]


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--socket", required=True)
    parser.add_argument("--pid", type=int, required=True, help="the daemon's pid, for its memory")
    parser.add_argument("--abusers", type=int, default=100)
    parser.add_argument("--requests", type=int, default=5000, help="pipelined requests per abusive connection")
    parser.add_argument("--request", default='{"op":"popular","domain":"movies","k":1000}')
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--linger", type=float, default=0.0, help="seconds each abuser stays connected after writing")
    parser.add_argument("--user", default="1", help="the well-behaved client's recommend user")
    args = parser.parse_args()

    payload = ((args.request + "\n") * args.requests).encode()
    rss_before = rss_kib(args.pid)
    deadline = time.monotonic() + args.seconds
    counters = {"connections": 0, "bytes": 0, "refused": 0}
    lock = threading.Lock()
    threads = [
        threading.Thread(target=abuser, args=(args.socket, payload, args.linger, deadline, counters, lock), daemon=True)
        for _ in range(args.abusers)
    ]
    for thread in threads:
        thread.start()
    time.sleep(0.5)  # let the abusers connect and fill their buffers first

    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.connect(args.socket)
    probe.settimeout(120)
    reader = probe.makefile("rb")
    requests = [
        ("health", json.dumps({"op": "health"}).encode() + b"\n"),
        ("recommend", json.dumps({"op": "recommend", "domain": "movies", "user": args.user, "k": 10}).encode() + b"\n"),
    ]
    latencies = {name: [] for name, _ in requests}
    errors = {}
    rss_peak = rss_before
    turn = 0
    while time.monotonic() < deadline:
        name, line = requests[turn % 2]
        turn += 1
        start = time.perf_counter()
        probe.sendall(line)
        answer = reader.readline()
        latencies[name].append((time.perf_counter() - start) * 1000.0)
        reply = json.loads(answer)
        if not reply.get("ok", False):
            code = reply.get("error", {}).get("code", "?")
            errors[code] = errors.get(code, 0) + 1
        if turn % 20 == 0:
            rss_peak = max(rss_peak, rss_kib(args.pid))
        time.sleep(0.005)
    for thread in threads:
        thread.join()
    rss_peak = max(rss_peak, rss_kib(args.pid))
    time.sleep(2.0)
    rss_after = rss_kib(args.pid)
    probe.close()

    print(f"abusers: {args.abusers} connections at a time, {counters['connections']} connections made, "
          f"{counters['bytes'] / 2**20:.0f} MiB of requests taken, {counters['refused']} refused")
    for name, values in latencies.items():
        values.sort()
        if not values:
            print(f"{name}: no answer")
            continue
        print(f"{name}: {len(values)} answers, p50 {percentile(values, 0.5):.2f} ms, "
              f"p99 {percentile(values, 0.99):.2f} ms, max {values[-1]:.2f} ms")
    if errors:
        print("error answers to the well-behaved client:", errors)
    print(f"daemon RSS: {rss_before / 1024:.0f} MiB before, {rss_peak / 1024:.0f} MiB at the highest sample "
          f"(+{(rss_peak - rss_before) / 1024:.0f} MiB), {rss_after / 1024:.0f} MiB 2 s after the abusers stopped")


if __name__ == "__main__":
    main()
