#!/usr/bin/env bash
# What identification and persistence add to `analyze` (issue 5): the same binary on the same capture,
# three ways, alternating round by round (in a rotating order) so that a noisy machine affects all three
# alike:
#   bare   analyze FILE --no-inventory          (flows, reassembly, HL7, DICOM, findings)
#   ident  analyze FILE                         (+ device identification)
#   db     analyze FILE --db NEW.db             (+ identification + persistence, a fresh SQLite file)
#
#   scripts/bench-inventory-cost.sh FILE [ROUNDS] [BIN]
#
# ROUNDS defaults to 7, BIN to target/release/medsentry. The report goes to /dev/null, the database
# to a temporary folder. Prints each round's wall times and the medians, with the increase over bare.
set -euo pipefail
FILE=$(realpath "$1")
ROUNDS=${2:-7}
BIN=$(realpath "${3:-target/release/medsentry}")
T=$(mktemp -d)
trap 'rm -rf "$T"' EXIT

wall() { # wall-clock seconds of one run of medsentry with the given arguments
    /usr/bin/time -f "%e" -o "$T/time" "$BIN" analyze "$FILE" --format json --no-progress "$@" \
        > /dev/null 2> "$T/err" || { cat "$T/err" >&2; exit 1; }
    cat "$T/time"
}

run() { # one configuration: bare, ident or db
    case $1 in
        bare) wall --no-inventory ;;
        ident) wall ;;
        db) rm -f "$T"/r.db*; wall --db "$T/r.db" ;;
    esac
}

echo "round bare ident db"
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
med = [statistics.median(float(r[i]) for r in rows) for i in (1, 2, 3)]
print("median bare %.2f s, ident %.2f s (%+.0f%%), db %.2f s (%+.0f%%)" % (
    med[0], med[1], 100 * (med[1] / med[0] - 1), med[2], 100 * (med[2] / med[0] - 1)))
# The same round by round: each run against the bare run just before it (a noisy machine drifts).
paired = [statistics.median(float(r[i]) / float(r[1]) for r in rows) for i in (2, 3)]
print("median of per-round ratios: ident %+.0f%%, db %+.0f%%" % tuple(100 * (p - 1) for p in paired))
PY
