# The README's two commands: `make demo` (the main job on the embedded default) and `make test`.
SHELL := /bin/bash
CDR := node dist/services/cli/main.js
DEPS := node_modules/.package-lock.json

.PHONY: demo test test-faults build bench clean fuzz

$(DEPS): package.json package-lock.json
	npm ci --no-audit --no-fund
	@touch $(DEPS)

build: $(DEPS)
	npx tsc -p tsconfig.build.json

# Two daily exports rated one after the other: the second run continues the month of the first.
demo: build
	rm -rf .cdr-data/demo out/demo
	$(CDR) rate --data .cdr-data/demo --out out/demo/day-1 --subscribers samples/subscribers.csv samples/cdrs-2026-03-02.csv
	$(CDR) rate --data .cdr-data/demo --out out/demo/day-2 --subscribers samples/subscribers.csv samples/cdrs-2026-03-03.csv
	@echo "Outputs: out/demo/day-1/run-000001/ and out/demo/day-2/run-000002/ (rated.csv, adjustments.csv, alerts.jsonl, rejected.csv, summary.json)"
	@token=$$($(CDR) token create --role admin --name demo --data .cdr-data/demo 2>/dev/null) && \
	  echo "" && echo "Fraud desk on the demo's data:" && \
	  echo "  $(CDR) serve --data .cdr-data/demo --subscribers samples/subscribers.csv" && \
	  echo "  then open http://127.0.0.1:8080/ and log in with the token (role admin, shown only now):" && \
	  echo "  $$token" && \
	  echo "  invoices: $(CDR) invoice --data .cdr-data/demo --period 2026-03 --out out/demo/invoices"

# Starts the local Kafka broker (integration tests use it with PostgreSQL) and stops it whatever the result.
# The fraud desk's browser tests and the PDF statement test need Debian's chromium: installed here where missing (or skipped, said aloud).
# The real-switch test needs Debian's kamailio and sip-tester (SIPp): installed the same way.
test: build
	bash scripts/ensure-chromium.sh
	bash scripts/ensure-sip.sh
	bash scripts/kafka.sh up
	npx vitest run; status=$$?; bash scripts/kafka.sh down; exit $$status

# The fault suite (issue 23, README "Reliability"): the streaming runtime on a three-broker KRaft cluster
# (scripts/kafka-cluster.sh, RF 3, min ISR 2, other ports than `make test`'s broker) through broker kills,
# worker kills, a PostgreSQL restart, a full disk and zombie workers. The cluster is stopped, and
# PostgreSQL left running, whatever the result. FAULT_SEED=N replays a run's random moments.
test-faults: build
	bash scripts/kafka-cluster.sh up && \
	  KAFKA_BROKERS=$$(bash scripts/kafka-cluster.sh brokers) CDR_REPLICATION_FACTOR=3 npx vitest run -c vitest.faults.config.ts; status=$$?; \
	  bash scripts/kafka-cluster.sh down; bash scripts/ensure-postgres.sh; exit $$status

# Every figure of issue 9 (README "Benchmark") on 1,000,000 generated CDRs and a 5 M-CDR month; the broker is started and stopped here.
bench: build
	bash scripts/kafka.sh up
	node --max-old-space-size=8192 dist/bench/bench.js; status=$$?; bash scripts/kafka.sh down; exit $$status

# A longer fuzz campaign over every reader (FUZZ_RUNS inputs, FUZZ_SEED to reproduce one); each failing input
# is kept under test/fixtures/fuzz/, which the fuzz test of `make test` replays from then on. No broker needed.
FUZZ_RUNS ?= 5000
FUZZ_SEED ?= $(shell date +%s)
FUZZ_RATE_RUNS ?= 10
fuzz: build
	FUZZ_RUNS=$(FUZZ_RUNS) FUZZ_SEED=$(FUZZ_SEED) FUZZ_RATE_RUNS=$(FUZZ_RATE_RUNS) FUZZ_KEEP=1 npx vitest run test/unit/fuzz-readers.test.ts

clean:
	rm -rf dist out .cdr-data bench/work

# A local single-node Kafka (KRaft) for the streaming runtime and its integration tests; no Docker needed.
.PHONY: kafka-up kafka-down
kafka-up:
	bash scripts/kafka.sh up

kafka-down:
	bash scripts/kafka.sh down
