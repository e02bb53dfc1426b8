#!/usr/bin/env bash
# The main job on the built-in default data (real Fashion-MNIST from Debian's
# dataset-fashion-mnist): train AllCNN (width 0.25, 28×28, 3 epochs), train the retrain gold
# standard without class 0 ("T-shirt/top"), unlearn class 0 with PSG and with Boundary Shrink,
# and print original, retrain, PSG and Boundary Shrink side by side.
#
# Outputs go to ${UNLEARN_RUN_DIR:-runs/main-job}; an existing run folder is reused: models
# already trained there are not trained again (delete the folder to start over).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/setup.sh"
"$root/scripts/build.sh" --target unlearn
unlearn="$root/build/unlearn"
run=${UNLEARN_RUN_DIR:-$root/runs/main-job}
mkdir -p "$run"
cd "$run"

recipe=(--data fashion-mnist --model allcnn --width 0.25 --epochs 3)
forget='class == 0'

[ -f original.pt ] || "$unlearn" train "${recipe[@]}" --out original.pt
[ -f retrain.pt ] || "$unlearn" train "${recipe[@]}" --exclude "$forget" --out retrain.pt
for method in psg boundary-shrink; do
  "$unlearn" forget --model original.pt --data fashion-mnist --forget "$forget" \
    --method "$method" --retrain retrain.pt --out "$method.pt" --report "$method.json" --force
done
echo
echo "Forgetting class 0 (T-shirt/top) of Fashion-MNIST; results in $run"
"$unlearn" report psg.json boundary-shrink.json --out report.html --force
