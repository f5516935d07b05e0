#!/usr/bin/env bash
# The one command that runs every test: installs what the tests need, builds, runs unit and oracle tests.
# Strict mode (docs/testkit.md): everything is installed, so a missing tool, kernel or root FAILS a test here
# instead of skipping it.
set -euo pipefail
cd "$(dirname "$0")/.."
bash tests/install-deps.sh
export LC_ALL=C.UTF-8
export MICROFORGE_TESTS_STRICT=1
mvn -B -ntp verify "$@"
