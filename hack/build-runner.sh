#!/usr/bin/env bash
# Builds the process runner's helper (src/process-runner/native/runner.c) into
# dist/process-runner/cri-shim-runner, when the binary is missing or older than its
# source or this script. Run by `npm run build` after tsc.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$ROOT/src/process-runner/native/runner.c"
OUT="$ROOT/dist/process-runner/cri-shim-runner"
if [ -x "$OUT" ] && [ "$OUT" -nt "$SRC" ] && [ "$OUT" -nt "${BASH_SOURCE[0]}" ]; then exit 0; fi
command -v gcc >/dev/null 2>&1 || { echo "build-runner: gcc is required to build $OUT (hack/setup.sh installs it)" >&2; exit 1; }
mkdir -p "$(dirname "$OUT")"
# Into a temporary name first: a running shim may be executing the old binary.
gcc -std=c11 -O2 -Wall -Wextra -Werror -o "$OUT.tmp.$$" "$SRC"
mv -f "$OUT.tmp.$$" "$OUT"
