#!/usr/bin/env python3
"""What the learner's speed here would be on the machine of the issue's reference figures.

The peers (run_peers.py) are set to reproduce the reference's errors, so the ratio of their
speed here to the reference's is this machine's speed against that one. Reads the replay's
JSON objects (one or more) and the peers' JSON lines; prints one line per peer.
"""
import json, statistics, sys

# The reference speeds on this protocol (events/s), and the peer run that matches each.
REFERENCE = {"river BiasedMF": 57_000, "vowpalwabbit driver": 390_000}


def json_objects(path):
    decoder, text, objects, index = json.JSONDecoder(), open(path).read(), [], 0
    while True:
        while index < len(text) and text[index].isspace():
            index += 1
        if index == len(text):
            return objects
        value, index = decoder.raw_decode(text, index)
        objects.append(value)


def main(replays, peers):
    learner = statistics.median(run["events_per_second"] for run in json_objects(replays))
    print("learner here: %.2f M events/s (median of the replay runs above)" % (learner / 1e6))
    for peer in json_objects(peers):
        reference = REFERENCE.get(peer["peer"])
        if reference is None:
            continue
        factor = peer["events_per_second"] / reference
        print("by %s: this machine is %.2fx the reference one, so the learner would do %.2f M events/s there"
              % (peer["peer"], factor, learner / factor / 1e6))


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:3]))
