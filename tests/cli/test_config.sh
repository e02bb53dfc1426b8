#!/usr/bin/env bash
# --config FILE and --dump-config: dumps read back to the same dump, flags win over the file,
# errors name the key and the line, and every configuration in examples/ is accepted. Nothing
# here trains or unlearns: --dump-config stops after parsing.
source "$(dirname "$0")/lib.sh"
EXAMPLES="$(cd "$(dirname "$0")/../../examples" && pwd)"

# round_trip NAME "SUBCOMMAND" ARGS...: dumps the configuration of SUBCOMMAND ARGS, reads the
# dump back with --config and dumps again; the two must be identical. Leaves the dump in NAME.yaml.
round_trip() {
  local name=$1 sub
  read -ra sub <<<"$2"
  shift 2
  expect_exit 0 "$name: dump" -- "$UNLEARN" "${sub[@]}" "$@" --dump-config
  cp out.txt "$name.yaml"
  expect_exit 0 "$name: dump of the dump" -- "$UNLEARN" "${sub[@]}" --config "$name.yaml" \
    --dump-config
  if ! cmp -s "$name.yaml" out.txt; then
    fail "$name: the dump does not read back to itself"
    diff "$name.yaml" out.txt
  fi
}
# has NAME LINE: the dump NAME.yaml has the line LINE.
has() { grep -qxF -- "$2" "$1.yaml" || fail "$1.yaml lacks '$2'"; }

round_trip train "train" --data "$DATA" --model small-cnn --epochs 2 --exclude 'class == 0' \
  --registry no --out t.pt
has train "epochs: 2"
has train "exclude: class == 0"
has train "lr: 0.05"  # a default
has train "force: false"
has train 'registry: "no"'  # a file named no, not --no-registry
[ -e t.pt ] && fail "train --dump-config wrote its model"

round_trip forget-scrub "forget" --model m.pt --data "$DATA" --forget 'class == "T-shirt/top"' \
  --method scrub --alpha 0.01 --no-cache --out f.pt
has forget-scrub "method: scrub"
has forget-scrub "alpha: 0.01"
has forget-scrub "no-cache: true"
has forget-scrub "forget: class == \"T-shirt/top\""
round_trip forget-psg "forget" --model m.pt --data "$DATA" --forget 'random(0.1, 7)' \
  --preset authors --no-quantize --lr 0.01 --registry '' --out f.pt
has forget-psg "method: psg"
has forget-psg "quantize: false"
has forget-psg 'registry: ""'
[ -e f.pt ] && fail "forget --dump-config wrote its model"

round_trip eval "eval" --model m.pt --data "$DATA" --forget 'class in [0, 6]' --original o.pt \
  --json
has eval "json: true"
round_trip scenario "scenario device-shift" --devices 4 --correlation 0.5 --out shift
has scenario "devices: 4"
# Positional arguments are dumped under their name; one on the command line replaces the file's.
echo '{}' >r1.json && echo '{}' >r2.json
round_trip report "report" r1.json r2.json
grep -qx -- "  - r2.json" report.yaml || fail "report.yaml lacks its second result file"
expect_exit 0 "a positional argument over the file's" -- "$UNLEARN" report --config report.yaml \
  r2.json --dump-config
grep -q r1.json out.txt && fail "report r2.json --config: r1.json from the file should be gone"

# Flags win over the file, also --method, which decides the options forget takes.
printf 'data: %s\nmodel: m.pt\nforget: class == 0\nout: f.pt\nmethod: scrub\nmax-steps: 1\n' \
  "$DATA" >scrub.yaml
expect_exit 0 "a method named in the file" -- "$UNLEARN" forget --config scrub.yaml --dump-config
grep -qx "max-steps: 1" out.txt || fail "scrub's max-steps from the file was lost"
expect_exit 0 "a flag over the file" -- "$UNLEARN" forget --config scrub.yaml --max-steps 3 \
  --out g.pt --dump-config
grep -qx "max-steps: 3" out.txt || fail "--max-steps 3 should win over the file's 1"
grep -qx "out: g.pt" out.txt || fail "--out g.pt should win over the file's f.pt"
expect_exit 2 "another --method than the file's" -- "$UNLEARN" forget --config scrub.yaml \
  --method finetune --dump-config
expect_stderr "another --method than the file's" "unknown key 'max-steps'"

# Errors name the key and the line.
printf 'model: m.pt\nforget: class == 0\npases: 2\nout: f.pt\n' >typo.yaml
expect_exit 2 "an unknown key" -- "$UNLEARN" forget --config typo.yaml --dump-config
expect_stderr "an unknown key" "typo.yaml: line 3: unknown key 'pases' for 'unlearn forget"
printf 'out: t.pt\nepochs: 2\nlr: 0.1: 2\nseed: 1\n' >syntax.yaml
expect_exit 2 "a YAML syntax error" -- "$UNLEARN" train --config syntax.yaml --dump-config
expect_stderr "a YAML syntax error" "syntax.yaml: line 3"
printf 'out: t.pt\nschedule: sometimes\n' >value.yaml
expect_exit 2 "a bad value" -- "$UNLEARN" train --config value.yaml --dump-config
expect_stderr "a bad value" "value.yaml: line 2: key 'schedule'"
printf 'out: t.pt\nforce: maybe\n' >switch.yaml
expect_exit 2 "a switch that is not true or false" -- "$UNLEARN" train --config switch.yaml \
  --dump-config
expect_stderr "a switch that is not true or false" "line 2: key 'force' is a switch"

# Every example is accepted (its data need not exist: --dump-config reads nothing) and listed.
for example in "$EXAMPLES"/*.yaml; do
  name=$(basename "$example")
  example_sub=$(sed -n 's/^# Run: unlearn \([a-z-]*\) --config .*/\1/p' "$example")
  if [ -z "$example_sub" ]; then
    fail "$name: no '# Run: unlearn SUBCOMMAND --config ...' line"
    continue
  fi
  expect_exit 0 "examples/$name" -- "$UNLEARN" "$example_sub" --config "$example" --dump-config
  grep -qF "examples/$name" "$EXAMPLES/README.md" || fail "examples/README.md does not list $name"
done
finish
