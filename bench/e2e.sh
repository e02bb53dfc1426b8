#!/usr/bin/env bash
# End-to-end speed of PSG on the reference configuration (docs/performance.md): ours against
# the same algorithm in plain PyTorch, written as a user would (per-sample torchvision
# transforms, DataLoader) and tuned (pre-decoded tensors, channels-last, inference mode). All
# run with the same threads, one after the other, and print one table with the ratios.
#
#   scripts/setup.sh --bench && scripts/build.sh
#   bench/e2e.sh [--out DIR] [--threads N] [--phis "0 0.5"] [--passes P]
#
# The original model (AllCNN width 0.25, 32x32, 3 epochs) is trained once by `unlearn train`
# and reused; every unlearning run starts from it. Run on a quiet machine: nothing else may use
# the cores while it measures. --passes (default 10, the reference) changes every run alike, for
# a quick check of the script.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="$root/build/e2e"
threads="$(nproc)"
phis="0 0.5"
passes=10
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --phis) phis="$2"; shift 2 ;;
    --passes) passes="$2"; shift 2 ;;
    *) echo "e2e.sh: unknown argument '$1'" >&2; exit 2 ;;
  esac
done

unlearn="$root/build/unlearn"
micro="$root/build/bench/bench_unlearn"
python=/usr/bin/python3  # Debian's interpreter, with python3-torch
for f in "$unlearn" "$micro"; do
  [ -x "$f" ] || { echo "e2e.sh: $f not found; run scripts/build.sh first" >&2; exit 1; }
done
"$python" -c 'import torch, torchvision' 2>/dev/null ||
  { echo "e2e.sh: $python lacks torch/torchvision; run scripts/setup.sh --bench" >&2; exit 1; }
mkdir -p "$out"

source "$here/common.sh"  # wait_quiet

# Runs a command under /usr/bin/time, keeping its user and system CPU seconds, involuntary
# context switches, wall time and peak RSS (the last two read by the table below) in
# $out/NAME.time, after the load average seen before the run.
timed() {
  local name="$1"; shift
  local load; load=$(wait_quiet)
  echo "e2e: $name (load $load before): $*" >&2
  echo "load_before $load" >"$out/$name.time"
  /usr/bin/time -a -f 'user_sys_invcsw %U %S %c\nwall_rss %e %M' -o "$out/$name.time" "$@" \
    >"$out/$name.log" 2>&1 ||
    { echo "e2e: $name failed; see $out/$name.log" >&2; tail -5 "$out/$name.log" >&2; exit 1; }
}

original="$out/original.pt"
if [ ! -f "$original" ]; then
  timed train "$unlearn" train --data fashion-mnist --model allcnn --width 0.25 --input-size 32 \
    --normalize 0.5,0.5 --epochs 3 --batch 64 --out "$original" --threads "$threads" \
    --no-registry
fi

# The reference configuration: the authors' PSG hyperparameters (gamma 1e-4, lambda 0,
# epsilon 0.1, K 1, SGD lr 1e-5 momentum 0.9, 10 passes, batch 64), phi as given.
for phi in $phis; do
  timed "ours-phi$phi" "$unlearn" forget --model "$original" --forget 'class == 0' --method psg \
    --preset authors --retain-weight "$phi" --passes "$passes" --input-size 32 \
    --threads "$threads" --no-cache --no-registry --force \
    --out "$out/ours-phi$phi.pt" --report "$out/ours-phi$phi.json"
  for form in user tuned; do
    timed "$form-phi$phi" "$python" "$here/peer_pytorch.py" --form "$form" --model "$original" \
      --phi "$phi" --passes "$passes" --threads "$threads" --json "$out/$form-phi$phi.json"
  done
done

# The machine's attainable FP32 rate, measured in the same run.
"$micro" --benchmark_filter='BM_Sgemm' --benchmark_min_time=2 --benchmark_format=json \
  >"$out/sgemm.json" 2>/dev/null

"$python" - "$out" "$threads" "$phis" <<'EOF'
import json, os, sys

out, threads, phis = sys.argv[1], sys.argv[2], sys.argv[3].split()

def time_of(name):
    wall, rss_kb = open(os.path.join(out, name + ".time")).read().split()[-2:]
    return float(wall), float(rss_kb) / 1024

sgemm = json.load(open(os.path.join(out, "sgemm.json")))["benchmarks"][0]["FLOPS"] / 1e9
print(f"machine: {os.uname().nodename}, {os.cpu_count()} cores, threads {threads}; "
      f"sgemm 2048^2 {sgemm:.1f} GFLOP/s")
print()
print("| run | phi | whole command (s) | unlearning loop (s) | steps/s | loop GFLOP/s "
      "| % of sgemm | peak RSS (MiB) | FTA | RTA |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
rows = {}
for phi in phis:
    name = f"ours-phi{phi}"
    r = json.load(open(os.path.join(out, name + ".json")))
    s = r["method"]["summary"]
    m = r["models"]["unlearned"]["metrics"]
    wall, rss = time_of(name)
    gflops = s.get("gflops_per_second", float("nan"))
    rows[("ours", phi)] = (wall, s["loop_seconds"])
    print(f"| unlearn | {phi} | {wall:.1f} | {s['loop_seconds']:.1f} | {s['steps_per_second']:.2f} "
          f"| {gflops:.1f} | {100 * gflops / sgemm:.0f}% | {rss:.0f} | {m['FTA']:.2f} | {m['RTA']:.2f} |")
    for form in ("user", "tuned"):
        name = f"{form}-phi{phi}"
        p = json.load(open(os.path.join(out, name + ".json")))
        wall, rss = time_of(name)
        rows[(form, phi)] = (wall, p["loop_seconds"])
        print(f"| PyTorch {form} | {phi} | {wall:.1f} | {p['loop_seconds']:.1f} "
              f"| {p['steps_per_second']:.2f} | | | {rss:.0f} | {p['fta']:.2f} | {p['rta']:.2f} |")
print()
print("| phi | peer | whole command: peer / ours | unlearning loop: peer / ours |")
print("| --- | --- | --- | --- |")
for phi in phis:
    ours_wall, ours_loop = rows[("ours", phi)]
    for form in ("user", "tuned"):
        wall, loop = rows[(form, phi)]
        print(f"| {phi} | {form} | {wall / ours_wall:.2f}x | {loop / ours_loop:.2f}x |")
EOF
