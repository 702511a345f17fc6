#!/usr/bin/env bash
# What identification and persistence add to `analyze` (issue 5): the same binary on the same capture,
# three ways, alternating round by round (in a rotating order) so that a noisy machine affects all three
# alike:
#   bare   analyze FILE --no-inventory          (flows, reassembly, HL7, DICOM, findings)
#   ident  analyze FILE                         (+ device identification)
#   db     analyze FILE --db NEW.db             (+ identification + persistence, a fresh SQLite file)
#
#   scripts/bench-inventory-cost.sh FILE [ROUNDS] [BIN] [-- ARGS...]
#
# ROUNDS defaults to 7, BIN to target/release/medsentry; ARGS go to every run (`-- --threads 1`).
# The report goes to /dev/null, the database to a temporary folder. Prints each round's wall and CPU
# times and the medians, with the increase over bare. CPU time (user + system, all threads) moves less
# than wall time on a noisy machine; on two cores a run's wall time is at least half its CPU time.
set -euo pipefail
FILE=$(realpath "$1")
shift
ROUNDS=7
BIN=target/release/medsentry
[ $# -gt 0 ] && [ "$1" != -- ] && { ROUNDS=$1; shift; }
[ $# -gt 0 ] && [ "$1" != -- ] && { BIN=$1; shift; }
[ $# -gt 0 ] && [ "$1" = -- ] && shift
EXTRA=("$@")
BIN=$(realpath "$BIN")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

wall() { # "wall cpu": wall-clock and CPU (user + system) seconds of one run with the given arguments
    /usr/bin/time -f "%e %U %S" -o "$T/time" \
        "$BIN" analyze "$FILE" --format json --no-progress "${EXTRA[@]}" "$@" \
        > /dev/null 2> "$T/err" || { cat "$T/err" >&2; exit 1; }
    awk '{printf "%s %.2f", $1, $2 + $3}' "$T/time"
}

run() { # one configuration: bare, ident or db
    case $1 in
        bare) wall --no-inventory ;;
        ident) wall ;;
        db) rm -f "$T"/r.db*; wall --db "$T/r.db" ;;
    esac
}

echo "round bare ident db (each: wall cpu, seconds)"
for r in $(seq "$ROUNDS"); do
    # The order rotates from round to round, so that no configuration always runs first or last.
    declare -A took=()
    case $((r % 3)) in
        0) order="bare ident db" ;;
        1) order="ident db bare" ;;
        2) order="db bare ident" ;;
    esac
    for c in $order; do took[$c]=$(run "$c"); done
    echo "$r ${took[bare]} ${took[ident]} ${took[db]}"
done | tee "$T/rounds"
python3 - "$T/rounds" <<'PY'
import statistics, sys
rows = [l.split() for l in open(sys.argv[1]).read().splitlines()]
# Columns: round, then wall and CPU seconds for bare, ident and db.
for name, off in (("wall", 0), ("CPU (user + system)", 1)):
    med = [statistics.median(float(r[1 + 2 * i + off]) for r in rows) for i in (0, 1, 2)]
    print("median %s: bare %.2f s, ident %.2f s (%+.0f%%), db %.2f s (%+.0f%%)" % (
        name, med[0], med[1], 100 * (med[1] / med[0] - 1), med[2], 100 * (med[2] / med[0] - 1)))
    # The same round by round: each run against the bare run of its round (a noisy machine drifts).
    paired = [statistics.median(float(r[1 + 2 * i + off]) / float(r[1 + off]) for r in rows)
              for i in (1, 2)]
    print("  median of per-round ratios: ident %+.0f%%, db %+.0f%%" % tuple(
        100 * (p - 1) for p in paired))
PY
