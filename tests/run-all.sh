#!/usr/bin/env bash
# The one command that runs every test: installs what the tests need, builds, runs unit and oracle tests.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps.sh
export LC_ALL=C.UTF-8
mvn -B -ntp verify "$@"
