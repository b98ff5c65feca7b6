#!/usr/bin/env bash
# Run pytest and treat exit code 5 ("no tests collected") as success, so an
# empty test tier does not fail CI. Any other non-zero code is passed through.
set -uo pipefail
"$@"
rc=$?
if [ "$rc" -eq 5 ]; then
  echo "pytest: no tests collected in this tier"
  exit 0
fi
exit "$rc"
