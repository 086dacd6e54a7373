#!/usr/bin/env bash
# API latency of `cdr serve` at 50 concurrent requests (autocannon), on a rated data directory:
#   node dist/services/cli/main.js generate --subscribers 3050 --days 30 --start 2026-03-01 --inject setup_burst premium_destination distinct_numbers --out /tmp/month
#   node dist/services/cli/main.js rate --data /tmp/month-data --out /tmp/month-out --subscribers /tmp/month/subscribers.csv /tmp/month/cdrs-*.csv
#   bash scripts/desk-latency.sh /tmp/month-data /tmp/month/subscribers.csv [CLIENT]
set -euo pipefail
DATA="$1"; SUBSCRIBERS="$2"; CLIENT="${3:-C-0004}"; PORT="${PORT:-18090}"
CDR="node dist/services/cli/main.js"
TOKEN=$($CDR token create --role admin --name "latency-$(date +%s)" --data "$DATA" 2>/dev/null)
LOG_LEVEL=warn $CDR serve --data "$DATA" --subscribers "$SUBSCRIBERS" --port "$PORT" >/dev/null 2>&1 &
SERVE=$!
trap 'kill $SERVE' EXIT
for _ in $(seq 50); do curl -sf "http://127.0.0.1:$PORT/health" >/dev/null && break; sleep 0.2; done
H="Authorization: Bearer $TOKEN"
ALERT=$(curl -s -H "$H" "http://127.0.0.1:$PORT/api/v1/alerts?limit=1" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log(JSON.parse(s).alerts[0]?.alert_id ?? ''))")
PERIOD=$(curl -s -H "$H" "http://127.0.0.1:$PORT/api/v1/alerts?limit=1" | node -e "let s='';process.stdin.on('data',d=>s+=d).on('end',()=>console.log((JSON.parse(s).alerts[0]?.first_seen ?? '2026-03').slice(0,7)))")
for path in "/api/v1/alerts?status=open&sort=severity&limit=50" "/api/v1/alerts/$ALERT" "/api/v1/barring.txt" "/api/v1/subscribers/$CLIENT?period=$PERIOD&calls=20"; do
  echo "== GET $path (50 connections, 15 s; latency columns: 2.5% 50% 97.5% 99% avg stdev max)"
  npx autocannon -c 50 -d 15 -H "$H" "http://127.0.0.1:$PORT$path" 2>&1 | grep -E "Latency|Req/Sec|requests in|non 2xx|errors"
done
