"""Samples a read replica while its learner publishes (bench/replica.sh, bench/replica-scale.sh).

    python3 bench/replica_latency.py CROSSREC REPLICA_SOCKET LEARNER_SOCKET SECONDS

Every version the replica swaps in during SECONDS is one sample of its stats.replica
last_latency_ms (from the learner's start of publishing, patch or encoding included, to the
swap) and last_apply_ms, as a patch or whole; the version served when sampling starts is not
one. Prints the median and maximum by kind, the learner's publishing figures by kind, and the
replica's totals.
"""
import json
import statistics
import subprocess
import sys
import time


def stats(crossrec: str, socket: str) -> dict:
    return json.loads(subprocess.run([crossrec, "stats", "--socket", socket, "--json"], capture_output=True, check=True).stdout)


def main() -> None:
    crossrec, replica, learner, seconds = sys.argv[1], sys.argv[2], sys.argv[3], float(sys.argv[4])
    samples, first, deltas, published = {}, None, None, []
    deadline = time.time() + seconds
    while time.time() < deadline:
        r = stats(crossrec, replica)["replica"]
        version = r["served_version"]
        if first is None:
            first = version if version is not None else -1
        elif version is not None and version != first and version not in samples:
            kind = "patch" if deltas is not None and r["deltas_applied"] > deltas else "whole"
            samples[version] = (r["last_latency_ms"], r["last_apply_ms"], kind)
        deltas = r["deltas_applied"]
        p = stats(crossrec, learner)["replication"]
        if not published or published[-1]["published_version"] != p["published_version"]:
            published.append(p)
        time.sleep(0.1)
    for kind in ("patch", "whole"):
        taken = [v for v in samples.values() if v[2] == kind]
        if taken:
            latency = [v[0] for v in taken]
            print("%s versions: served %.0f ms after the learner began sending (median; max %.0f, over %d); applied in %.0f ms (median)"
                  % (kind, statistics.median(latency), max(latency), len(taken), statistics.median(v[1] for v in taken)))
    for kind in ("delta", "full"):
        sent = [p for p in published[1:] if p["last_kind"] == kind]
        if sent:
            print("learner, %s versions: %.2f MB, made and sent in %.0f ms (medians over %d)"
                  % (kind, statistics.median(p["last_bytes"] for p in sent) / 1e6,
                     statistics.median(p["last_publish_ms"] for p in sent), len(sent)))
    r = stats(crossrec, replica)["replica"]
    print("replica: %d whole and %d patches applied, %d refused, %.2f GB received"
          % (r["full_applied"], r["deltas_applied"], r["rejected"], r["bytes_received"] / 1e9))


if __name__ == "__main__":
    main()
