"""Child process of the kill -9 test: loops writes on a PLAID index and logs every committed state.

Usage: ``python plaid_crash_child.py FOLDER LOG STATE_JSON SEED``. Each line of LOG is
``intent <json>`` before a write and ``commit <json>`` after it returned, where the JSON maps each
live id to the version of its embeddings (:func:`document` regenerates them).
"""

from __future__ import annotations

import json
import os
import sys
import zlib

import numpy as np


def document(doc_id: str, version: int, dim: int = 16) -> np.ndarray:
    rng = np.random.default_rng(zlib.crc32(f"{doc_id}:{version}".encode()))
    x = rng.normal(size=(int(rng.integers(4, 12)), dim))
    return (x / np.linalg.norm(x, axis=1, keepdims=True)).astype(np.float32)


def main() -> None:
    folder, log_path, state_json, seed = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4])
    from plait.indexes.plaid import PLAID

    state: dict[str, int] = json.loads(state_json)
    rng = np.random.default_rng(seed)
    log = open(log_path, "a", encoding="utf-8")

    def write(kind: str, s: dict[str, int]) -> None:
        log.write(f"{kind} {json.dumps(s, sort_keys=True)}\n")
        log.flush()
        os.fsync(log.fileno())

    index = PLAID(folder, "p", nbits=2)
    write("ready", state)
    counter = int(rng.integers(1 << 30))
    while True:
        op = rng.choice(["add", "add", "remove", "replace", "compact"])
        new = dict(state)
        if op == "add" or not state:
            ids = [f"d{counter + i}" for i in range(3)]
            counter += 3
            new.update({i: 0 for i in ids})
            write("intent", new)
            index.add_documents(ids, [document(i, 0) for i in ids])
        elif op == "remove":
            ids = list(rng.choice(sorted(state), min(2, len(state)), replace=False))
            for i in ids:
                del new[i]
            write("intent", new)
            index.remove_documents(ids)
        elif op == "replace":
            i = str(rng.choice(sorted(state)))
            new[i] = state[i] + 1
            write("intent", new)
            index.add_documents([i], [document(i, new[i])], replace=True)
        else:
            write("intent", new)
            index.compact()
        state = new
        write("commit", state)


if __name__ == "__main__":
    main()
