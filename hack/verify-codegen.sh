#!/usr/bin/env bash
# Regenerate the API models into a temporary copy and fail, printing the diff,
# when the checked-in code differs (stale or edited by hand).
set -euo pipefail
cd "$(dirname "$0")/.."
exec python hack/codegen.py verify
