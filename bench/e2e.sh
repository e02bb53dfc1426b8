#!/usr/bin/env bash
# End-to-end speed of PSG on the reference configuration (docs/performance.md): ours against
# the same algorithm in plain PyTorch, written as a user would (per-sample torchvision
# transforms, DataLoader) and tuned (pre-decoded tensors, channels-last, inference mode). All
# run with the same threads, one after the other, and print one table with the ratios.
#
#   scripts/setup.sh --bench && scripts/build.sh
#   bench/e2e.sh [--out DIR] [--threads N] [--phis "0 0.5"] [--precisions "fp32 bf16"]
#                [--passes P]
#
# The original model (AllCNN width 0.25, 32x32, 3 epochs) is trained once by `unlearn train`
# and reused; every unlearning run starts from it. Run on a quiet machine: nothing else may use
# the cores while it measures. --passes (default 10, the reference) changes every run alike, for
# a quick check of the script. --precisions (default fp32) runs ours and the tuned peer at each
# precision (bf16: bfloat16 autocast, weights in fp32); the user-written peer has no bf16 form
# and runs once, in fp32.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(dirname "$here")"
out="$root/build/e2e"
threads="$(nproc)"
phis="0 0.5"
precisions="fp32"
passes=10
while (($#)); do
  case "$1" in
    --out) out="$2"; shift 2 ;;
    --threads) threads="$2"; shift 2 ;;
    --phis) phis="$2"; shift 2 ;;
    --precisions) precisions="$2"; shift 2 ;;
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
# Run names: ours-phi0 and tuned-phi0 in fp32, ours-phi0-bf16 and tuned-phi0-bf16 in bf16.
suffix() { [ "$1" = fp32 ] || echo "-$1"; }
for phi in $phis; do
  for precision in $precisions; do
    s=$(suffix "$precision")
    timed "ours-phi$phi$s" "$unlearn" forget --model "$original" --forget 'class == 0' \
      --method psg --preset authors --retain-weight "$phi" --passes "$passes" --input-size 32 \
      --threads "$threads" --precision "$precision" --no-cache --no-registry --force \
      --out "$out/ours-phi$phi$s.pt" --report "$out/ours-phi$phi$s.json"
    timed "tuned-phi$phi$s" "$python" "$here/peer_pytorch.py" --form tuned --model "$original" \
      --phi "$phi" --passes "$passes" --threads "$threads" --precision "$precision" \
      --json "$out/tuned-phi$phi$s.json"
  done
  timed "user-phi$phi" "$python" "$here/peer_pytorch.py" --form user --model "$original" \
    --phi "$phi" --passes "$passes" --threads "$threads" --json "$out/user-phi$phi.json"
done

# The machine's attainable FP32 rate, measured in the same run.
"$micro" --benchmark_filter='BM_Sgemm' --benchmark_min_time=2 --benchmark_format=json \
  >"$out/sgemm.json" 2>/dev/null

"$python" - "$out" "$threads" "$phis" "$precisions" <<'EOF'
import json, os, sys

out, threads = sys.argv[1], sys.argv[2]
phis, precisions = sys.argv[3].split(), sys.argv[4].split()

def suffix(precision):
    return "" if precision == "fp32" else "-" + precision

def time_of(name):
    wall, rss_kb = open(os.path.join(out, name + ".time")).read().split()[-2:]
    return float(wall), float(rss_kb) / 1024

sgemm = json.load(open(os.path.join(out, "sgemm.json")))["benchmarks"][0]["FLOPS"] / 1e9
print(f"machine: {os.uname().nodename}, {os.cpu_count()} cores, threads {threads}; "
      f"sgemm 2048^2 {sgemm:.1f} GFLOP/s")
print()
print("| run | phi | precision | whole command (s) | unlearning loop (s) | steps/s "
      "| loop GFLOP/s | % of sgemm | peak RSS (MiB) | FTA | RTA |")
print("| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |")
rows = {}
for phi in phis:
    for precision in precisions:
        name = f"ours-phi{phi}{suffix(precision)}"
        r = json.load(open(os.path.join(out, name + ".json")))
        s = r["method"]["summary"]
        m = r["models"]["unlearned"]["metrics"]
        wall, rss = time_of(name)
        gflops = s.get("gflops_per_second", float("nan"))
        rows[("ours", phi, precision)] = (wall, s["loop_seconds"])
        print(f"| unlearn | {phi} | {precision} | {wall:.1f} | {s['loop_seconds']:.1f} "
              f"| {s['steps_per_second']:.2f} | {gflops:.1f} | {100 * gflops / sgemm:.0f}% "
              f"| {rss:.0f} | {m['FTA']:.2f} | {m['RTA']:.2f} |")
    for form, precision in [("tuned", p) for p in precisions] + [("user", "fp32")]:
        name = f"{form}-phi{phi}{suffix(precision)}"
        p = json.load(open(os.path.join(out, name + ".json")))
        wall, rss = time_of(name)
        rows[(form, phi, precision)] = (wall, p["loop_seconds"])
        print(f"| PyTorch {form} | {phi} | {precision} | {wall:.1f} | {p['loop_seconds']:.1f} "
              f"| {p['steps_per_second']:.2f} | | | {rss:.0f} | {p['fta']:.2f} | {p['rta']:.2f} |")
print()
print("| phi | ours | peer | whole command: peer / ours | unlearning loop: peer / ours |")
print("| --- | --- | --- | --- | --- |")
for phi in phis:
    for precision in precisions:
        ours_wall, ours_loop = rows[("ours", phi, precision)]
        # Against the user-written peer (fp32 only) and the tuned peer in fp32 and, for a
        # lower precision, in that precision too.
        peers = [("user", "fp32"), ("tuned", "fp32")]
        if precision != "fp32":
            peers.append(("tuned", precision))
        for form, peer_precision in peers:
            wall, loop = rows[(form, phi, peer_precision)]
            print(f"| {phi} | {precision} | {form} {peer_precision} | {wall / ours_wall:.2f}x "
                  f"| {loop / ours_loop:.2f}x |")
EOF
