#!/usr/bin/env bash
# The browser tests (test/e2e/desk-browser.test.ts) and `cdr invoice --format pdf` (test/e2e/statement-pdf-cli.test.ts) drive Debian's chromium through playwright-core.
# Install it where missing and possible; otherwise say so loudly: those tests then skip with the reason.
set -u
CHROMIUM="${CHROMIUM_PATH:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "chromium missing: installing it with apt-get (for the browser tests)"
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null; then exit 0; fi
fi
echo "WARNING: no Chromium at $CHROMIUM and it could not be installed (needs root and apt-get: apt-get install -y chromium);"
echo "WARNING: the browser tests of the fraud desk and the PDF statement test will be SKIPPED; every other test runs."
exit 0
