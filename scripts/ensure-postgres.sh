#!/usr/bin/env bash
# Starts the local PostgreSQL if it is not answering: the fault suite stops and starts it, and whatever
# happened there (a failed or interrupted run), the server other tests and people share is left running.
# Debian's cluster, as these machines run it (DESIGN.md §5); elsewhere, nothing to do.
set -uo pipefail
pg_isready -h 127.0.0.1 -p 5432 -t 3 >/dev/null 2>&1 && exit 0
command -v pg_ctlcluster >/dev/null || { echo "ensure-postgres.sh: PostgreSQL does not answer on 127.0.0.1:5432 and pg_ctlcluster is missing" >&2; exit 1; }
version="$(ls /etc/postgresql | head -1)"
echo "ensure-postgres.sh: PostgreSQL $version was down: starting it" >&2
pg_ctlcluster --skip-systemctl-redirect "$version" main start
for _ in $(seq 30); do pg_isready -h 127.0.0.1 -p 5432 -t 1 >/dev/null 2>&1 && exit 0; sleep 1; done
echo "ensure-postgres.sh: PostgreSQL did not come back" >&2
exit 1
