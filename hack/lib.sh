# Shared helpers for hack/ scripts. Sourced, not run.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
PAUSE_IMAGE="localhost/cri-shim/pause:1.0"
BUSYBOX_IMAGE="localhost/cri-shim/busybox:1.0"
DEBIAN_PACKAGES=(docker.io containernetworking-plugins busybox-static iptables iproute2 docker-registry
  apache2-utils gcc libc6-dev socat util-linux ca-certificates)

log() { printf '[cri-shim setup] %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

need_root() { [ "$(id -u)" = 0 ] || die "run as root (it installs packages, starts dockerd, writes /etc/cni/net.d)"; }

# Node.js 20+ with npm comes with the machines we run on; Debian 12's own nodejs is 18,
# so we neither install nor accept that one.
need_node() {
  local version major
  if ! command -v node >/dev/null 2>&1 || ! command -v npm >/dev/null 2>&1; then
    die "Node.js 20+ with npm is required (node and npm must be on PATH)"
  fi
  version=$(node -p 'process.versions.node' 2>/dev/null) || die "Node.js 20+ with npm is required ('node' does not run)"
  major=${version%%.*}
  [[ "$major" =~ ^[0-9]+$ ]] && [ "$major" -ge 20 ] ||
    die "Node.js 20+ with npm is required; found node $version at $(command -v node)"
}

# Installs only the Debian packages that are missing; apt-get update only when needed.
ensure_packages() {
  local missing=()
  for p in "${DEBIAN_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  log "installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

docker_answers() { timeout 5 docker info >/dev/null 2>&1; }

# Starts dockerd in the background unless one already answers (no systemd here).
ensure_dockerd() {
  docker_answers && return 0
  log "starting dockerd (log: /var/log/cri-shim-dockerd.log)"
  nohup dockerd >/var/log/cri-shim-dockerd.log 2>&1 </dev/null &
  local deadline=$((SECONDS + 60))
  while [ "$SECONDS" -lt "$deadline" ]; do
    docker_answers && return 0
    sleep 0.5
  done
  tail -n 20 /var/log/cri-shim-dockerd.log >&2 || true
  die "dockerd did not answer within 60 s"
}

image_label() { docker image inspect -f "{{ index .Config.Labels \"$2\" }}" "$1" 2>/dev/null || true; }

# Image builds run in a subshell whose EXIT trap removes the scratch dir, also when
# gcc or docker import fails under set -e.
# The pause image from our own hack/pause/pause.c, rebuilt only when the source changes.
ensure_pause_image() {
  local sum
  sum=$(sha256sum "$ROOT/hack/pause/pause.c" | cut -c1-16)
  [ "$(image_label "$PAUSE_IMAGE" io.cri-shim.source)" = "$sum" ] && return 0
  log "building $PAUSE_IMAGE"
  (
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    gcc -static -O2 -Wall -Wextra -o "$dir/pause" "$ROOT/hack/pause/pause.c"
    tar -C "$dir" -c pause | docker import \
      --change 'ENTRYPOINT ["/pause"]' --change "LABEL io.cri-shim.source=$sum" - "$PAUSE_IMAGE" >/dev/null
  )
}

# A small test image from Debian's static busybox: every applet as a hard link, so a
# masked path masks only that applet. The label hashes busybox and this function's own
# text, so only a change to the recipe (not to the rest of this file) rebuilds it.
ensure_busybox_image() {
  local sum
  sum=$( (sha256sum /bin/busybox; declare -f ensure_busybox_image) | sha256sum | cut -c1-16)
  [ "$(image_label "$BUSYBOX_IMAGE" io.cri-shim.source)" = "$sum" ] && return 0
  log "building $BUSYBOX_IMAGE"
  (
    dir=$(mktemp -d)
    trap 'rm -rf "$dir"' EXIT
    mkdir -p "$dir"/{bin,etc,tmp,root,var/www,proc,sys,dev}
    cp /bin/busybox "$dir/bin/busybox"
    for applet in $(/bin/busybox --list); do
      [ "$applet" = busybox ] || ln "$dir/bin/busybox" "$dir/bin/$applet"
    done
    mkdir -p "$dir/usr/bin" "$dir/sbin" "$dir/usr/sbin"
    printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\nwww-data:x:33:33:www-data:/var/www:/bin/false\n' >"$dir/etc/passwd"
    printf 'root:x:0:\nnobody:x:65534:\nwww-data:x:33:\n' >"$dir/etc/group"
    chmod 1777 "$dir/tmp"
    tar -C "$dir" -c . | docker import \
      --change 'CMD ["sh"]' --change 'ENV PATH=/usr/sbin:/usr/bin:/sbin:/bin' \
      --change "LABEL io.cri-shim.source=$sum" - "$BUSYBOX_IMAGE" >/dev/null
  )
}

# A default network for operators, written only when the conf dir has none: we never
# overwrite a node's own CNI config. The firewall plugin opens FORWARD per pod, which
# dockerd set to DROP.
ensure_default_cni_config() {
  local dir=/etc/cni/net.d
  mkdir -p "$dir"
  local f
  for f in "$dir"/*.conflist "$dir"/*.conf "$dir"/*.json; do
    [ -e "$f" ] && return 0
  done
  log "writing $dir/10-cri-shim.conflist"
  cat >"$dir/10-cri-shim.conflist" <<'JSON'
{
  "cniVersion": "1.0.0",
  "name": "cri-shim",
  "plugins": [
    {
      "type": "bridge",
      "bridge": "cri-shim0",
      "isGateway": true,
      "ipMasq": true,
      "hairpinMode": true,
      "ipam": {
        "type": "host-local",
        "ranges": [[{ "subnet": "10.88.0.0/16" }]],
        "routes": [{ "dst": "0.0.0.0/0" }]
      }
    },
    { "type": "portmap", "capabilities": { "portMappings": true } },
    { "type": "firewall" }
  ]
}
JSON
}

# npm ci only when the lock changed since the last install; tsc is incremental enough.
ensure_build() {
  cd "$ROOT"
  local stamp=node_modules/.cri-shim-lock.sha sum
  sum=$(sha256sum package-lock.json | cut -c1-64)
  if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$sum" ]; then
    log "npm ci"
    npm ci --no-audit --no-fund --loglevel=error
    echo "$sum" >"$stamp"
  fi
  # npm run build = tsc, then hack/build-runner.sh, which recompiles the C helper when its source changed.
  log "building (tsc, process-runner helper)"
  npm run --silent build
}

setup_all() {
  need_node
  need_root
  ensure_packages
  ensure_dockerd
  ensure_pause_image
  ensure_busybox_image
  ensure_default_cni_config
  ensure_build
}
