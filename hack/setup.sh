#!/usr/bin/env bash
# Idempotent node set-up shared by hack/run-shim.sh and hack/test.sh.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
setup_all
