#!/usr/bin/env bash
# The real-switch tests (test/support/sip-switch.ts) run Debian's Kamailio (the SIP proxy, which asks the API
# before relaying each INVITE and accounts the calls with acc) and SIPp (package sip-tester, the callers and the callee).
# Install them where missing and possible; otherwise say so loudly: those tests then skip with the reason.
set -u
if command -v kamailio >/dev/null 2>&1 && command -v sipp >/dev/null 2>&1; then exit 0; fi
if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
  echo "kamailio or sipp missing: installing kamailio, kamailio-utils-modules and sip-tester with apt-get (for the real-switch tests)"
  if apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq kamailio kamailio-utils-modules sip-tester >/dev/null; then
    exit 0
  fi
fi
echo "WARNING: kamailio and/or sipp are not installed and could not be (needs root and apt-get: apt-get install -y kamailio kamailio-utils-modules sip-tester);"
echo "WARNING: the real-switch tests (Kamailio asking the API before each call, SIPp placing the calls) will be SKIPPED; every other test runs."
exit 0
