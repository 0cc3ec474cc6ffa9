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
# A 1 MB young-generation semi-space (V8's default grows to 16 MB): the shim's garbage is
# short-lived RPC objects, so scavenges stay sub-millisecond, and the nursery no longer
# adds ~10 MB of RSS under load (bench/load.mjs passes the same flags; README "Benchmark").
node_flags=(--max-semi-space-size=1 --optimize-for-size)
# --optimize-for-size: V8's memory-over-speed heuristics (~2 MB less idle RSS, no CPU cost measured).
# glibc: two malloc arenas instead of 8 per core, and blocks of 32 KB or more (V8's compiler
# zones) mmapped and returned on free instead of kept in an arena after each peak (~7 MB idle,
# ~10 MB at 30 pods). bench/load.mjs (RUN_FLAGS, RUN_ENV) and hack/install.sh set the same.
export MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=32768
if $foreground; then exec node "${node_flags[@]}" dist/cli.js "${args[@]}"; fi

# True when $1 is a live cri-shim: a PID may be reused once the shim is gone.
is_shim_pid() {
  [[ "$1" =~ ^[0-9]+$ ]] && kill -0 "$1" 2>/dev/null &&
    tr '\0' ' ' <"/proc/$1/cmdline" 2>/dev/null | grep -q 'dist/cli\.js'
}
# True when something accepts on the socket: a crashed shim leaves a stale file behind.
socket_answers() { timeout 5 socat -u OPEN:/dev/null "UNIX-CONNECT:$1" 2>/dev/null; }

pidfile=/run/cri-shim/cri-shim.pid
if [ -f "$pidfile" ] && is_shim_pid "$(cat "$pidfile")"; then
  log "cri-shim already running (pid $(cat "$pidfile"))"
  exit 0
fi
sock=$(node dist/cli.js --print-socket "${args[@]}")
mkdir -p /run/cri-shim
nohup node "${node_flags[@]}" dist/cli.js "${args[@]}" >>/var/log/cri-shim.log 2>&1 </dev/null &
pid=$!
echo "$pid" >"$pidfile"
deadline=$((SECONDS + 30))
while [ "$SECONDS" -lt "$deadline" ]; do
  if socket_answers "$sock"; then
    log "cri-shim running (pid $pid), socket unix://$sock, log /var/log/cri-shim.log"
    exit 0
  fi
  kill -0 "$pid" 2>/dev/null || break
  sleep 0.2
done
kill "$pid" 2>/dev/null || true
tail -n 20 /var/log/cri-shim.log >&2 || true
die "cri-shim did not answer on unix://$sock within 30 s"
