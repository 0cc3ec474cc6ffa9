#!/usr/bin/env bash
# Installs the built shim on a node:
#   /usr/local/lib/cri-shim/        dist/ (with the C process-runner helper), proto/, production node_modules/, package.json, COMMIT
#   /usr/local/bin/cri-shim         launcher
#   /etc/systemd/system/cri-shim.service
#   /etc/cri-shim/config.json       only if none exists
#   /etc/crictl.yaml                only if none exists
# and prints how to enable it. `--uninstall` removes what an install wrote, and only
# that: files listed in its manifest, and config files only while unchanged.
#
#   bash hack/install.sh [--destdir DIR] [--uninstall]
#
# DESTDIR (or --destdir) installs under another root, as `make install` does: the
# files land in $DESTDIR/…, but the paths written inside them are the final ones. With
# a DESTDIR, or where systemd is not running, nothing is started or reloaded.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

DESTDIR="${DESTDIR:-}"
uninstall=false
while [ $# -gt 0 ]; do
  case "$1" in
    --destdir) [ $# -ge 2 ] || die "--destdir needs a directory"; DESTDIR="$2"; shift 2 ;;
    --destdir=*) DESTDIR="${1#--destdir=}"; shift ;;
    --uninstall) uninstall=true; shift ;;
    -h|--help) sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) die "unknown argument: $1 (see --help)" ;;
  esac
done
if [ -n "$DESTDIR" ]; then
  case "$DESTDIR" in /*) ;; *) die "DESTDIR must be an absolute path, got $DESTDIR" ;; esac
  DESTDIR="${DESTDIR%/}"
fi

LIB=/usr/local/lib/cri-shim
BIN=/usr/local/bin/cri-shim
UNIT=/etc/systemd/system/cri-shim.service
CONF_DIR=/etc/cri-shim
CONF=$CONF_DIR/config.json
CRICTL=/etc/crictl.yaml
MANIFEST=$LIB/install-manifest
MARK='# written by cri-shim hack/install.sh'

# systemd manages services only when it is PID 1 (its runtime dir exists) and we install for real.
use_systemd() { [ -z "$DESTDIR" ] && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

sum() { sha256sum "$1" | cut -d' ' -f1; }

# Manifest lines: "<sha256|dir> <final path>" for everything this install created.
# Written as the install goes, so that --uninstall also clears a half-done install.
record() { printf '%s %s\n' "$1" "$2" >>"$DESTDIR$MANIFEST"; }

# mkdir -p that records each directory it had to create, so uninstall can remove them.
make_dir() {
  local d="$1" missing=()
  while [ ! -d "$DESTDIR$d" ]; do missing=("$d" "${missing[@]}"); d=$(dirname "$d"); done
  for d in "${missing[@]}"; do mkdir "$DESTDIR$d"; record mkdir "$d"; done
}

do_uninstall() {
  local m="$DESTDIR$MANIFEST" kind path
  [ -f "$m" ] || die "no install manifest at $m: nothing installed by this script there"
  if use_systemd && systemctl list-unit-files cri-shim.service >/dev/null 2>&1; then
    systemctl disable --now cri-shim.service >/dev/null 2>&1 || true
  fi
  while read -r kind path; do
    case "$kind" in dir|mkdir) continue ;; esac
    if [ ! -e "$DESTDIR$path" ]; then continue; fi
    if [ "$(sum "$DESTDIR$path")" = "$kind" ]; then
      rm -f "$DESTDIR$path"
      log "removed $path"
    else
      log "kept $path: changed since install"
    fi
  done <"$m"
  local dirs
  dirs=$(grep '^mkdir ' "$m" | cut -d' ' -f2- | sort -r || true)
  rm -rf "${DESTDIR:?}$LIB"
  log "removed $LIB"
  # Directories the install created, deepest first, while empty.
  printf '%s\n' "$dirs" | while read -r path; do
    [ -n "$path" ] || continue
    rmdir "$DESTDIR$path" 2>/dev/null || true
  done
  if use_systemd; then systemctl daemon-reload; fi
}

write_file() { # <final path> <mode>; content on stdin; records it in the manifest
  local path="$1" mode="$2"
  make_dir "$(dirname "$path")"
  cat >"$DESTDIR$path"
  chmod "$mode" "$DESTDIR$path"
  record "$(sum "$DESTDIR$path")" "$path"
}

do_install() {
  need_node
  local node
  node=$(command -v node)
  cd "$ROOT"
  # The process runner's helper (dist/process-runner/cri-shim-runner) goes with dist/.
  if [ ! -f dist/cli.js ] || [ ! -x dist/process-runner/cri-shim-runner ]; then
    log "building (npm run build)"
    npm run build >/dev/null
  fi
  [ -d node_modules ] || die "node_modules missing: run npm ci first"

  # A reinstall replaces our lib dir and keeps the record of what an earlier run wrote
  # outside it (config files it created, directories it made).
  local keep="" parents=() d
  if [ -e "$DESTDIR$LIB" ]; then
    [ -f "$DESTDIR$MANIFEST" ] || die "$DESTDIR$LIB exists and was not installed by this script; remove it first"
    keep=$(grep -E "^mkdir |^[0-9a-f]+ ($CONF|$CRICTL)\$" "$DESTDIR$MANIFEST" || true)
    rm -rf "${DESTDIR:?}$LIB"
  fi
  d=$(dirname "$LIB")
  while [ ! -d "$DESTDIR$d" ]; do parents=("$d" "${parents[@]}"); d=$(dirname "$d"); done
  mkdir -p "$DESTDIR$LIB"
  : >"$DESTDIR$MANIFEST"
  [ -n "$keep" ] && printf '%s\n' "$keep" >>"$DESTDIR$MANIFEST"
  for d in "${parents[@]}"; do record mkdir "$d"; done
  record dir "$LIB"

  cp -a dist proto package.json "$DESTDIR$LIB/"
  [ -f package-lock.json ] && cp -a package-lock.json "$DESTDIR$LIB/"
  # Production dependencies only, as npm resolves them from the lock (no registry access).
  # Sorted, so a package comes before what is nested in it; nested ones came with it.
  local rel
  while read -r p; do
    rel=${p#"$ROOT"/}
    [ "$rel" = "$p" ] && continue
    [ -e "$DESTDIR$LIB/$rel" ] && continue
    mkdir -p "$DESTDIR$LIB/$(dirname "$rel")"
    cp -a "$rel" "$DESTDIR$LIB/$rel"
  done < <(npm ls --omit=dev --all --parseable 2>/dev/null | sort)
  [ -d "$DESTDIR$LIB/node_modules/@grpc/grpc-js" ] || die "could not list the production dependencies (npm ls --omit=dev)"
  if git -C "$ROOT" rev-parse HEAD >/dev/null 2>&1; then
    local commit
    commit=$(git -C "$ROOT" rev-parse HEAD)
    [ -z "$(git -C "$ROOT" status --porcelain --untracked-files=no 2>/dev/null)" ] || commit="$commit-dirty"
    echo "$commit" >"$DESTDIR$LIB/COMMIT"
  fi

  write_file "$BIN" 0755 <<EOF
#!/bin/sh
$MARK
# Node and malloc settings as hack/run-shim.sh (README "Benchmark" says why).
export MALLOC_ARENA_MAX=2 MALLOC_MMAP_THRESHOLD_=32768
exec "$node" --max-semi-space-size=1 --optimize-for-size $LIB/dist/cli.js "\$@"
EOF

  write_file "$UNIT" 0644 <<EOF
$MARK
[Unit]
Description=cri-shim: Kubernetes CRI runtime over Docker Engine, running the CNI chain itself
After=docker.service network-online.target
Requires=docker.service

[Service]
Type=simple
ExecStart=$BIN --config $CONF
Restart=on-failure
RestartSec=2
# SIGTERM drains the gRPC server; give it time before SIGKILL.
TimeoutStopSec=30

[Install]
WantedBy=multi-user.target
EOF

  if [ -e "$DESTDIR$CONF" ]; then
    log "kept existing $CONF"
  else
    write_file "$CONF" 0644 <<'EOF'
{
  "listen": "unix:///run/cri-shim/cri-shim.sock",
  "dockerEndpoint": "/var/run/docker.sock",
  "cniConfDir": "/etc/cni/net.d",
  "cniBinDirs": ["/opt/cni/bin", "/usr/lib/cni"],
  "cniCacheDir": "/var/lib/cni",
  "stateDir": "/var/lib/cri-shim",
  "pauseImage": "localhost/cri-shim/pause:1.0",
  "logLevel": "info"
}
EOF
  fi
  # The config is checked by the shim's own parser before anything points at it.
  local sock
  sock=$("$node" "$DESTDIR$LIB/dist/cli.js" --print-socket --config "$DESTDIR$CONF") || die "$CONF is not a valid cri-shim config"

  if [ -e "$DESTDIR$CRICTL" ]; then
    log "kept existing $CRICTL"
  else
    write_file "$CRICTL" 0644 <<EOF
runtime-endpoint: unix://$sock
image-endpoint: unix://$sock
timeout: 10
EOF
  fi

  log "installed $("$node" "$DESTDIR$LIB/dist/cli.js" --version) under ${DESTDIR:-/}"
  if use_systemd; then
    systemctl daemon-reload
    log "enable and start it: systemctl enable --now cri-shim"
  elif [ -n "$DESTDIR" ]; then
    log "files written under $DESTDIR only (DESTDIR): nothing enabled"
  else
    log "systemd is not running here: start it with  $BIN --config $CONF"
  fi
  log "check the node: $BIN doctor --config $CONF"
  log "kubelet: --container-runtime-endpoint=unix://$sock"
}

if $uninstall; then do_uninstall; else do_install; fi
