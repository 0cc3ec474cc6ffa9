#!/usr/bin/env bash
# The README's run command: set the node up, then start the shim in the background
# (or in the foreground with --foreground), and wait until its socket answers.
# Extra arguments are passed to cri-shim.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_all

foreground=false
args=()
for a in "$@"; do
  if [ "$a" = --foreground ]; then foreground=true; else args+=("$a"); fi
done
cd "$ROOT"
if $foreground; then exec node dist/cli.js "${args[@]}"; fi

pidfile=/run/cri-shim/cri-shim.pid
if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then
  log "cri-shim already running (pid $(cat "$pidfile"))"
  exit 0
fi
mkdir -p /run/cri-shim
nohup node dist/cli.js "${args[@]}" >>/var/log/cri-shim.log 2>&1 </dev/null &
echo $! >"$pidfile"
sock=$(node dist/cli.js --print-socket "${args[@]}")
for _ in $(seq 1 50); do
  if [ -S "$sock" ]; then
    log "cri-shim running (pid $(cat "$pidfile")), socket unix://$sock, log /var/log/cri-shim.log"
    exit 0
  fi
  kill -0 "$(cat "$pidfile")" 2>/dev/null || break
  sleep 0.2
done
tail -n 20 /var/log/cri-shim.log >&2 || true
die "cri-shim did not start"
