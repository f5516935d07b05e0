# The subset of nixpkgs' makeWrapper that nix/package.nix uses, as a setup hook:
#   makeWrapper PROGRAM WRAPPER [--set-default VAR VALUE]...
# The wrapper execs PROGRAM under its own path ($0 is PROGRAM, as with nixpkgs' wrapper without --argv0).
makeWrapper() {
  local prog=$1 wrapper=$2
  shift 2
  mkdir -p "$(dirname "$wrapper")"
  {
    echo '#!/bin/sh'
    while [ $# -gt 0 ]; do
      case $1 in
        --set-default)
          [ $# -ge 3 ] || { echo "stub makeWrapper: --set-default needs VAR VALUE" >&2; return 1; }
          case $3 in *"'"*) echo "stub makeWrapper: quote in value: $3" >&2; return 1 ;; esac
          printf "[ -n \"\${%s+set}\" ] || %s='%s'\nexport %s\n" "$2" "$2" "$3" "$2"
          shift 3
          ;;
        *)
          echo "stub makeWrapper: unsupported argument $1" >&2
          return 1
          ;;
      esac
    done
    printf "exec '%s' \"\$@\"\n" "$prog"
  } >"$wrapper"
  chmod 555 "$wrapper"
}
