# Sourced by the end-to-end benchmark scripts.
#
# wait_quiet: with --threads equal to the core count, any other
# process on the machine stalls every OpenMP barrier (libgomp spin-waits): a 2-thread run next to
# a 2-job build ran 6.6x slower. wait_quiet waits (up to 5 minutes) for the 1-minute load average
# to drop below 0.3 and prints the load it saw, so each timing can be judged.
wait_quiet() {
  local tries=0 load
  while load=$(cut -d' ' -f1 /proc/loadavg) && awk -v l="$load" 'BEGIN { exit !(l > 0.3) }'; do
    ((tries++ < 60)) || { echo "bench: machine still busy (load $load); the timings are not valid" >&2; break; }
    sleep 5
  done
  echo "$load"
}

# ensure_original UNLEARN PATH THREADS: trains the reference original (AllCNN width 0.25, 32x32,
# 3 epochs, docs/performance.md) at PATH unless it is there already.
ensure_original() {
  [ -f "$2" ] && return
  "$1" train --data fashion-mnist --model allcnn --width 0.25 --input-size 32 \
    --normalize 0.5,0.5 --epochs 3 --batch 64 --out "$2" --threads "$3" --quiet --no-registry
}
