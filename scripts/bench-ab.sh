#!/usr/bin/env bash
# Two builds of medsentry on the same capture, run by run in alternation, so that a noisy machine
# (this project's 2-core VM swings by 15% from minute to minute) affects both alike:
#
#   scripts/bench-ab.sh FILE ROUNDS BIN_A BIN_B [ANALYZE ARGS...]
#
# Each round runs `BIN analyze FILE --format json --no-progress [ARGS]` with A then B (B then A on odd
# rounds), the report to /dev/null. Prints each round's wall and CPU (user + system) seconds, the
# medians, and the median of the per-round ratios B/A (less sensitive to drift than the ratio of
# medians). Seven rounds resolve about 5%; a few percent needs 12 or more.
set -euo pipefail
FILE=$(realpath "$1")
ROUNDS=$2
A=$(realpath "$3")
B=$(realpath "$4")
shift 4
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

run() { # "wall cpu" of one run of binary $1 with the analyze arguments after it
    local bin=$1
    shift
    /usr/bin/time -f "%e %U %S" -o "$T/time" "$bin" analyze "$FILE" --format json --no-progress "$@" \
        > /dev/null 2> "$T/err" || { cat "$T/err" >&2; exit 1; }
    awk '{printf "%s %.2f", $1, $2 + $3}' "$T/time"
}

echo "round A(wall cpu) B(wall cpu)"
for r in $(seq "$ROUNDS"); do
    if (( r % 2 )); then
        b=$(run "$B" "$@"); a=$(run "$A" "$@")
    else
        a=$(run "$A" "$@"); b=$(run "$B" "$@")
    fi
    echo "$r $a $b"
done | tee "$T/rounds"
python3 - "$T/rounds" <<'PY'
import statistics, sys
rows = [[float(x) for x in l.split()[1:]] for l in open(sys.argv[1]).read().splitlines()[1:]]
for name, i in (("wall", 0), ("CPU", 1)):
    a = statistics.median(r[i] for r in rows)
    b = statistics.median(r[2 + i] for r in rows)
    # A run too short for /usr/bin/time (0.00 s) has no ratio.
    ratios = [r[2 + i] / r[i] for r in rows if r[i] > 0]
    if a == 0 or not ratios:
        print("median %s: A %.2f s, B %.2f s (too short to compare)" % (name, a, b))
        continue
    per_round = statistics.median(ratios)
    print("median %s: A %.2f s, B %.2f s (%+.1f%%); median of per-round B/A %+.1f%%" % (
        name, a, b, 100 * (b / a - 1), 100 * (per_round - 1)))
PY
