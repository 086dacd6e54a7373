import { defineConfig } from 'vitest/config';

// The fault suite (`make test-faults`): the streaming runtime on the three-broker cluster of
// scripts/kafka-cluster.sh, one campaign after another (they share the cluster and PostgreSQL, and
// restart or break them). `make test` does not run it: see vitest.config.ts.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    testTimeout: 900_000,
    hookTimeout: 300_000,
    fileParallelism: false,
    // A campaign runs for minutes: its progress lines are printed as they come, not at its end.
    disableConsoleIntercept: true,
  },
});
