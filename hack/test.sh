#!/usr/bin/env bash
# The README's test command: set the node up, fence outbound traffic, run every test,
# print "N passed, N failed". Extra arguments go to vitest (e.g. a test path).
# The summary line is always the last thing printed: a failure before the tests ran
# (setup, proto check) reports "0 passed, 1 failed" and exits non-zero.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

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

summary_printed=false
on_exit() {
  local rc=$?
  trap - EXIT
  fence_down
  if ! $summary_printed; then
    echo "0 passed, 1 failed"
    [ "$rc" -ne 0 ] || rc=1
  fi
  exit "$rc"
}
trap on_exit EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# A run killed with SIGKILL leaves its REJECT fence behind; it would break apt-get.
fence_down
setup_all

cd "$ROOT"
mkdir -p .test-tmp
results=.test-tmp/vitest.json
rm -f "$results"

fence_up
log "fence up: outbound traffic limited to 127.0.0.0/8 and 10.88.0.0/16"
npm run --silent check:proto
# Tests are TypeScript too: a fake that drifts from the interface it fakes fails here.
npm run --silent typecheck
set +e
npx vitest run --reporter=default --reporter=json --outputFile.json="$results" "$@"
status=$?
set -e
fence_down

# A file that fails to load counts no failed test: never print "0 failed" next to a
# non-zero exit, nor exit 0 without results.
if [ -f "$results" ] && summary=$(node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  let failed = r.numFailedTests;
  if (Number(process.argv[2]) !== 0 && failed === 0) failed = Math.max(1, r.numFailedTestSuites || 0);
  console.log(`${r.numPassedTests} passed, ${failed} failed`);
' "$results" "$status"); then
  :
else
  summary="0 passed, 1 failed"
  [ "$status" -ne 0 ] || status=1
fi
echo "$summary"
summary_printed=true
exit "$status"
