#!/usr/bin/env bash
# The README's test command: set the node up, fence outbound traffic, run every test,
# print "N passed, N failed". Extra arguments go to vitest (e.g. a test path).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_all

# While tests run, the node may only talk to loopback and the test pod subnets: a test
# that aims elsewhere then fails instead of leaving the machine.
FENCE=CRI_SHIM_TEST_FENCE
fence_down() {
  for ipt in iptables ip6tables; do
    while $ipt -w -D OUTPUT -j "$FENCE" 2>/dev/null; do :; done
    $ipt -w -F "$FENCE" 2>/dev/null || true
    $ipt -w -X "$FENCE" 2>/dev/null || true
  done
}
fence_up() {
  fence_down
  iptables -w -N "$FENCE"
  iptables -w -A "$FENCE" -o lo -j RETURN
  iptables -w -A "$FENCE" -d 127.0.0.0/8 -j RETURN
  iptables -w -A "$FENCE" -d 10.88.0.0/16 -j RETURN
  iptables -w -A "$FENCE" -j REJECT
  iptables -w -I OUTPUT 1 -j "$FENCE"
  if ip6tables -w -L >/dev/null 2>&1; then
    ip6tables -w -N "$FENCE"
    ip6tables -w -A "$FENCE" -o lo -j RETURN
    ip6tables -w -A "$FENCE" -d ::1/128 -j RETURN
    ip6tables -w -A "$FENCE" -j REJECT
    ip6tables -w -I OUTPUT 1 -j "$FENCE"
  fi
}

cd "$ROOT"
mkdir -p .test-tmp
results=.test-tmp/vitest.json
rm -f "$results"
trap fence_down EXIT
fence_up
log "fence up: outbound traffic limited to 127.0.0.0/8 and 10.88.0.0/16"

npm run --silent check:proto
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
status=$?
set -e
fence_down
trap - EXIT

if [ -f "$results" ]; then
  node -e '
    const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
    console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed`);
  ' "$results"
else
  echo "0 passed, 1 failed"
fi
exit $status
