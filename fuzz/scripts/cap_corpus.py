#!/usr/bin/env python3
"""Keeps a small corpus for a target: the seeds, then, greedily, the inputs that add the most
coverage edges not yet covered, until MAX_FILES files or MAX_BYTES bytes.

libFuzzer's own minimization (`cargo fuzz cmin`, i.e. `-merge=1`) keeps every input needed
for full coverage, which can be more than the regression tests should carry. This reads the
per-input features from a merge control file and picks the best subset.

    TARGET=fuzz/target/x86_64-unknown-linux-gnu/release/<target>
    $TARGET -merge=1 -use_counters=0 -merge_control_file=work/mcf-<target> \\
        work/merged-<target> corpus/<target> work/<target>
    scripts/cap_corpus.py work/mcf-<target> corpus/<target>

The output folder is rewritten: seeds (`seed-*`) stay, the rest is replaced by the chosen
inputs, named by their SHA-1 as libFuzzer names them.
"""

import hashlib
import os
import sys

MAX_FILES = 300
MAX_BYTES = 2 * 1024 * 1024


def read_control_file(path):
    """(file paths, {index: set of features}) from a libFuzzer merge control file."""
    with open(path) as f:
        lines = f.read().splitlines()
    count = int(lines[0])
    files = lines[2 : 2 + count]
    features = {}
    for line in lines[2 + count :]:
        if line.startswith("FT "):
            parts = line.split()
            features[int(parts[1])] = set(map(int, parts[2:]))
    return files, features


def choose(files, features):
    """Seeds first, then greedy set cover on features within the limits."""
    seeds = [i for i, f in enumerate(files) if os.path.basename(f).startswith("seed-")]
    chosen, covered, size = list(seeds), set(), 0
    for i in seeds:
        covered |= features.get(i, set())
        size += os.path.getsize(files[i])
    rest = [i for i in features if i not in seeds]
    while rest and len(chosen) < MAX_FILES:
        best = max(
            rest,
            key=lambda i: (len(features[i] - covered), -os.path.getsize(files[i])),
        )
        gain = len(features[best] - covered)
        best_size = os.path.getsize(files[best])
        if gain == 0:
            break
        rest.remove(best)
        if size + best_size > MAX_BYTES:
            continue
        chosen.append(best)
        covered |= features[best]
        size += best_size
    total = set().union(*features.values()) if features else set()
    return chosen, len(covered), len(total), size


def main():
    control, out = sys.argv[1], sys.argv[2]
    files, features = read_control_file(control)
    chosen, covered, total, size = choose(files, features)
    data = {i: open(files[i], "rb").read() for i in chosen}
    for name in os.listdir(out):
        if not name.startswith("seed-"):
            os.remove(os.path.join(out, name))
    for i, content in data.items():
        name = os.path.basename(files[i])
        if not name.startswith("seed-"):
            name = hashlib.sha1(content).hexdigest()
        target = os.path.join(out, name)
        if os.path.abspath(files[i]) != os.path.abspath(target):
            with open(target, "wb") as f:
                f.write(content)
    print(
        f"{out}: {len(chosen)} files, {size} bytes, "
        f"{covered} of {total} features of the full corpus ({len(files)} inputs)"
    )


if __name__ == "__main__":
    main()
