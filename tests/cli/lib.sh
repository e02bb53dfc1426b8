# Shared helpers for the CLI tests: a temporary folder, the tiny data set, and checks.
set -u
UNLEARN=$1
MAKE_TINY=$2
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
cd "$WORK"
export UNLEARN_CACHE_DIR="$WORK/cache"
export UNLEARN_REGISTRY="$WORK/registry.sqlite"
# ctest runs two tests at once, and many commands here use --threads 2. OpenMP threads that spin
# while they wait then take the cores from each other: with two other processes running, a
# 3-epoch training took 10.3 s instead of 3.2 s (38.8 s instead of 9.3 s sanitized). Passive
# waiting changes no result, only who gets the cores.
export OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-PASSIVE}
"$MAKE_TINY" "$WORK" || { echo "FAIL: make_tiny_idx"; exit 1; }
DATA="idx:$WORK"
failures=0
fail() { echo "FAIL: $*"; failures=$((failures + 1)); }
# expect_exit CODES NAME -- command...: runs the command, checks its exit code is one of CODES.
expect_exit() {
  local codes=$1 name=$2
  shift 3
  "$@" >"$WORK/out.txt" 2>"$WORK/err.txt"
  local rc=$?
  case " $codes " in
    *" $rc "*) ;;
    *) fail "$name: exit $rc, expected one of $codes"; cat "$WORK/err.txt" ;;
  esac
}
expect_stderr() {
  grep -qi -- "$2" "$WORK/err.txt" || { fail "$1: stderr lacks '$2'"; cat "$WORK/err.txt"; }
}
finish() {
  if ((failures)); then echo "$failures check(s) failed"; exit 1; fi
  echo "all checks passed"
}
