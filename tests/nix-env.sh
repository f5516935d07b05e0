# Sourced by the scripts that run Nix (tests/example/update.sh, bench/*.sh): NIX_CONFIG = tests/nix-test.conf,
# the settings the Java tests use too. The host's Nix configuration is not changed.
NIX_CONFIG="$(cat "$(dirname "${BASH_SOURCE[0]}")/nix-test.conf")"
export NIX_CONFIG
