#!/usr/bin/env bash
# Random kill -9 campaign on `cdr rate` (after make build): a generated 10-day month rated day by day, each
# day's run killed at a random moment until one gets through, then a final run over every file;
# the invariant is checked on every run folder (what invoicing reads) against a clean run of the same files.
set -u
cd "$(dirname "$0")/.."
W="${KILL_WORK:-$(mktemp -d)}"; rm -rf "$W"; mkdir -p "$W"
node dist/services/cli/main.js generate --subscribers 150 --days 10 --seed 21 --start 2026-03-02 --out $W/gen --inject distinct_numbers pool_exhausted concurrent_calls >/dev/null
FILES=$(ls $W/gen/cdrs-*.csv)
RATE="node dist/services/cli/main.js rate --subscribers $W/gen/subscribers.csv --chunk-size 2000"
$RATE --data $W/clean-state --out $W/clean-out $FILES >/dev/null
kills=0
# Day by day, as a cron job would; each day's run is killed at a random moment until one gets through.
for f in $FILES; do
  for attempt in 1 2 3 4 5 6; do
    $RATE --data $W/state --out $W/out $f >/dev/null 2>&1 &
    pid=$!
    sleep "$(python3 -c 'import random; print(round(random.uniform(0.3, 1.6), 2))')"
    if kill -9 $pid 2>/dev/null; then kills=$((kills+1)); wait $pid 2>/dev/null; else wait $pid; break; fi
  done
done
# Finish the month, as a user would after the last kill.
$RATE --data $W/state --out $W/out $FILES > $W/final.txt 2>&1
echo "kills: $kills"
python3 - "$W" <<'PY'
import csv, glob, sys, os
from decimal import Decimal
w = sys.argv[1]
def invoiced(out):
    billed, totals = {}, {}
    for folder in sorted(glob.glob(os.path.join(out, 'run-*'))):
        for r in csv.DictReader(open(os.path.join(folder, 'rated.csv'), encoding='utf8')):
            billed[r['cdr_id']] = billed.get(r['cdr_id'], 0) + 1
            k = (r['client_id'], r['period']); totals[k] = totals.get(k, Decimal(0)) + Decimal(r['amount'])
        for a in csv.DictReader(open(os.path.join(folder, 'adjustments.csv'), encoding='utf8')):
            k = (a['client_id'], a['period']); totals[k] = totals.get(k, Decimal(0)) + Decimal(a['delta'])
    return billed, totals, len(glob.glob(os.path.join(out, 'run-*')))
cb, ct, _ = invoiced(os.path.join(w, 'clean-out'))
b, t, runs = invoiced(os.path.join(w, 'out'))
twice = sum(1 for n in b.values() if n > 1)
missing = len(set(cb) - set(b))
wrong = [k for k in ct if ct[k] != t.get(k, Decimal(0))]
print(f"CDRs {len(cb)}; run folders {runs}; billed twice {twice}; missing {missing}; client months {len(ct)}, wrong {len(wrong)}; "
      f"total clean {sum(ct.values())} vs after kills {sum(t.values())}")
print('staging folders left:', len(glob.glob(os.path.join(w, 'out', '.staging*'))))
PY
