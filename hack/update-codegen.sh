#!/usr/bin/env bash
# Delete and regenerate api/**/zz_generated_models.py from api/openapi/*.
set -euo pipefail
cd "$(dirname "$0")/.."
exec python hack/codegen.py update
