#!/usr/bin/env bash
# Rebuilds the shipped micro world (assets/data, assets/micro/{sft,dpo}) from scratch with
# `dsteer train --preset micro --seed 1`, and the shipped steering vector
# (assets/micro/vector.safetensors + .diagnostics.json + .samples.safetensors) with the
# `dsteer extract` command below, and checks that every file is byte-identical to the shipped one.
# Not part of `npm test`: it takes about 17 minutes on 2 cores.
#   bash scripts/rebuild-assets.sh [OUT_DIR]        (run `npm ci` first)
set -euo pipefail
cd "$(dirname "$0")/.."
out=${1:-$(mktemp -d)}
mkdir -p "$out"
node bin/dsteer.js train --preset micro --seed 1 --out "$out" --format json > "$out/train-output.json"
status=0
for f in $(cd assets/data && ls); do cmp "assets/data/$f" "$out/data/$f" || status=1; done
cmp assets/micro/evaluation.json "$out/evaluation.json" || status=1
for stage in sft dpo; do
  for f in $(cd "assets/micro/$stage" && ls); do cmp "assets/micro/$stage/$f" "$out/$stage/$f" || status=1; done
done
# the vector: extracted from the shipped pair (run from the repository root, so the paths recorded in
# its provenance are the same relative paths)
node bin/dsteer.js extract --sft assets/micro/sft --dpo assets/micro/dpo --data assets/data/micro-hh.train.jsonl \
  --max-pairs 300 --read prompt-end --device cpu --out "$out/vector.safetensors" > /dev/null
for f in vector.safetensors vector.diagnostics.json vector.samples.safetensors; do cmp "assets/micro/$f" "$out/$f" || status=1; done
if [ $status -eq 0 ]; then echo "rebuild matches the shipped assets byte for byte ($out)"; else echo "rebuild DIFFERS from the shipped assets ($out)"; fi
exit $status
