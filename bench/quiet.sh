# Sourced by the end-to-end benchmark scripts. With --threads equal to the core count, any other
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
