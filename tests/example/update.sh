#!/usr/bin/env bash
# Rebuilds example.nix with the local Nix and refreshes the shipped copy (store/ and closure.json).
set -euo pipefail
cd "$(dirname "$0")"
. ../nix-env.sh
app=$(nix-build --option substituters '' --no-out-link example.nix)
rm -rf store && mkdir store
for p in $(nix-store --query --requisites "$app"); do
  cp -a "$p" store/
  chmod -R u+w "store/$(basename "$p")"
done
nix --extra-experimental-features nix-command --option substituters '' path-info --json --recursive "$app" \
  | jq '[.[] | {path, narHash, narSize, references, deriver}]' > closure.json
echo "$app"
