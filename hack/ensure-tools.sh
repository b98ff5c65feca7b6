#!/usr/bin/env bash
# Make sure the external programs the tests drive are on PATH: git (with
# git-http-backend), kubectl and kpt. git comes from apt when missing; kubectl
# and kpt are not packaged by Debian in a usable version, so a missing one is
# reported with what to do.
set -euo pipefail

missing_apt=()
command -v git >/dev/null 2>&1 || missing_apt+=(git)
if ! git --exec-path >/dev/null 2>&1 || [ ! -x "$(git --exec-path 2>/dev/null)/git-http-backend" ]; then
  missing_apt+=(git)
fi
if [ ${#missing_apt[@]} -gt 0 ]; then
  if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" = 0 ]; then
    echo "ensure-tools: installing ${missing_apt[*]} with apt-get"
    apt-get update -qq && apt-get install -y -qq "${missing_apt[@]}" >/dev/null
  else
    echo "ensure-tools: git is required (apt-get install git)" >&2
    exit 1
  fi
fi

fail=0
for tool in kubectl kpt; do
  if ! command -v "$tool" >/dev/null 2>&1; then
    echo "ensure-tools: '$tool' is not on PATH; install it (e.g. the Google Cloud SDK" \
         "packages 'kubectl' and 'google-cloud-cli-kpt') and re-run" >&2
    fail=1
  fi
done
exit "$fail"
