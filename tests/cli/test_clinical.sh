#!/usr/bin/env bash
# Clinical data end to end on tiny data: scenario device-shift (PNG and DICOM) -> inspect ->
# train -> forget a device -> eval per device; outliers(); patients; bad clinical inputs.
source "$(dirname "$0")/lib.sh"
export UNLEARN_PATIENT_SALT=cli-test-salt
common=(--model small-cnn --width 0.5 --epochs 4 --batch 16 --lr 0.05 --quiet)

expect_exit 0 "scenario device-shift" -- "$UNLEARN" scenario device-shift --data "$DATA" \
  --devices 3 --out shift --quiet
[ -f shift/labels.csv ] && [ -f shift/classes.txt ] && [ -f shift/train/000000.png ] ||
  fail "device-shift did not write labels.csv, classes.txt and PNG files"
head -1 shift/labels.csv | grep -q "^path,label,split,device,manufacturer,site,year,PatientID$" ||
  fail "labels.csv header: $(head -1 shift/labels.csv)"
expect_exit 1 "scenario into an existing folder" -- "$UNLEARN" scenario device-shift \
  --data "$DATA" --out shift --quiet
expect_stderr "scenario into an existing folder" "force"
expect_exit 0 "scenario device-shift --format dicom" -- "$UNLEARN" scenario device-shift \
  --data "$DATA" --devices 3 --format dicom --out shift-dcm --quiet
ls shift-dcm/train/*.dcm >/dev/null 2>&1 || fail "no DICOM files written"

expect_exit 0 "inspect folder" -- "$UNLEARN" inspect folder:shift
for word in "400 train" device manufacturer site year patient; do
  grep -q "$word" out.txt || fail "inspect lacks '$word'"
done
grep -q "PAT-" out.txt && fail "inspect shows a clear patient ID"
expect_exit 0 "inspect dicom --json" -- "$UNLEARN" inspect "dicom:shift-dcm" --json
grep -q '"ManufacturerModelName"' out.txt && grep -q '"Manufacturer"' out.txt ||
  fail "inspect of DICOM lacks Manufacturer/ManufacturerModelName"
grep -q "PAT-" out.txt && fail "inspect --json of DICOM shows a clear patient ID"

expect_exit 0 "train on the scenario" -- "$UNLEARN" train --data folder:shift "${common[@]}" \
  --out orig.pt
expect_exit 0 "retrain without device C" -- "$UNLEARN" train --data folder:shift "${common[@]}" \
  --exclude 'device == "C"' --out re.pt
expect_exit 0 "inspect model" -- "$UNLEARN" inspect orig.pt
grep -q "small-cnn" out.txt && grep -q "provenance" out.txt || fail "inspect model lacks arch/provenance"
grep -q '"width":0.5' out.txt || fail "inspect model lacks the architecture's options"

expect_exit 0 "forget device C" -- "$UNLEARN" forget --model orig.pt --data folder:shift \
  --forget 'device == "C"' --method finetune --retrain re.pt --out ft.pt --report ft.json --quiet
grep -q '"per_group"' ft.json && grep -q '"device"' ft.json || fail "ft.json lacks per-device accuracy"
expect_exit 0 "eval per device" -- "$UNLEARN" eval --model ft.pt --data folder:shift \
  --forget 'device == "C"' --original orig.pt --retrain re.pt --quiet
grep -q "test accuracy by device" out.txt || fail "eval does not print accuracy per device"
for row in original retrain model; do
  grep -A4 "test accuracy by device" out.txt | grep -q "^$row " || fail "per-device table lacks $row"
done

# The DICOM version selects the same samples through its tags.
expect_exit 0 "eval on DICOM" -- "$UNLEARN" eval --model orig.pt --data dicom:shift-dcm \
  --forget 'ManufacturerModelName == "C"' --json --quiet
dcm_counts=$(grep -E '"n_forget_(train|test)"' out.txt | tr -d ' ,')
expect_exit 0 "eval on PNG" -- "$UNLEARN" eval --model orig.pt --data folder:shift \
  --forget 'device == "C"' --json --quiet
png_counts=$(grep -E '"n_forget_(train|test)"' out.txt | tr -d ' ,')
[ -n "$png_counts" ] && [ "$png_counts" = "$dcm_counts" ] ||
  fail "DICOM and PNG select differently: [$dcm_counts] vs [$png_counts]"

# outliers(): ranked by the original model; train needs --reference.
expect_exit 0 "forget outliers" -- "$UNLEARN" forget --model orig.pt --data folder:shift \
  --forget 'outliers(0.1)' --method finetune --out out.pt --report outliers.json --quiet
grep -q '"n_forget_train": 40' outliers.json || fail "outliers(0.1) of 400 should pick 40"
expect_exit 2 "train --exclude outliers without --reference" -- "$UNLEARN" train \
  --data folder:shift "${common[@]}" --exclude 'outliers(0.1)' --out x.pt
expect_stderr "train --exclude outliers without --reference" "reference"
expect_exit 0 "train --exclude outliers --reference" -- "$UNLEARN" train --data folder:shift \
  "${common[@]}" --epochs 1 --exclude 'outliers(0.1, by=loss)' --reference orig.pt --out xo.pt

# Patients: clear IDs in a file are hashed with the same salt; inline clear IDs are refused.
printf 'PAT-00001\nPAT-00002\n' > withdrawn.txt
expect_exit 0 "forget withdrawn patients" -- "$UNLEARN" forget --model orig.pt \
  --data folder:shift --forget 'patient in @withdrawn.txt' --method finetune --out pt.pt \
  --report patients.json --quiet
grep -q "PAT-0000" patients.json && fail "a clear patient ID reached the result file"
grep -q '"n_forget_train": 0' patients.json && fail "no sample of the withdrawn patients selected"
expect_exit "1 2" "clear ID inline" -- "$UNLEARN" forget --model orig.pt --data folder:shift \
  --forget 'patient == "PAT-00001"' --method finetune --out p2.pt --quiet
expect_stderr "clear ID inline" "withdrawn.txt"

# Outlier scenario: a variant column, and the source's metadata kept.
expect_exit 0 "scenario outliers" -- "$UNLEARN" scenario outliers --data folder:shift \
  --share 0.1 --out marked --quiet
head -1 marked/labels.csv | grep -q "device" && head -1 marked/labels.csv | grep -q "variant" ||
  fail "outlier scenario lost columns: $(head -1 marked/labels.csv)"
[ "$(grep -c ',flip,\|,crop,\|,occlude,\|,flip$\|,crop$\|,occlude$' marked/labels.csv)" -eq 50 ] ||
  fail "expected 40 train + 10 test variants"

# Bad clinical inputs: a clear error naming the file, exit 1, nothing written.
mkdir -p bad && cp shift/classes.txt bad/ && mkdir -p bad/train
printf 'path,label,split\ntrain/000000.png,3\n' > bad/labels.csv
cp shift/train/000000.png bad/train/
expect_exit 1 "CSV row with a missing column" -- "$UNLEARN" inspect folder:bad
expect_stderr "CSV row with a missing column" "labels.csv:2"
printf 'not a zip' > broken.npz
expect_exit 1 "broken npz" -- "$UNLEARN" inspect npz:broken.npz
expect_stderr "broken npz" "broken.npz"
expect_exit "1 2" "unknown scheme" -- "$UNLEARN" inspect hdf5:x
finish
