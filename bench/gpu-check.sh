#!/usr/bin/env bash
# The one prepared script for a real GPU machine (PERFORMANCE.md, "On a real GPU"): correctness on
# the hardware first, then the benchmark table. Run from the repo root after `npm ci`:
#   bash bench/gpu-check.sh            (prints everything; writes JSON lines to $OUT or runs/)
# It takes a few minutes on an H200; every step has its own time limit.
set -uo pipefail
out=${OUT:-runs}
mkdir -p "$out"
step() { echo; echo "== $1 =="; }

step "adapter, features, limits"
node -e "
import('./dist/engine/device.js').then(async ({ openGpu, describeAdapter, lastGpuError }) => {
  const g = await openGpu({ allowSoftware: false });
  if (!g) { console.log('no hardware adapter:', lastGpuError()); process.exit(1); }
  console.log(describeAdapter(g));
  console.log(JSON.stringify({ info: g.adapterInfo, features: g.features, limits: g.limits }));
  g.destroy();
});" || exit 1

step "correctness on this GPU: kernels vs twins, engine vs golden fixtures"
DSTEER_REQUIRE_WEBGPU=1 timeout 300 npx vitest run tests/kernels tests/models/webgpu.test.ts 2>&1 | tail -5

step "kernels (8B shapes): GEMV/GEMM/attention vs the measured FMA and copy peaks"
timeout 240 node bin/dsteer.js bench --suite kernels --device webgpu --reps 20 --format json | tee "$out/gpu-kernels.jsonl" | cut -c1-220

step "e2e: random-weight Llama-3.1-8B shape, f16 weights: prefill, decode tok/s, dispatches per token"
timeout 300 node bin/dsteer.js bench --suite e2e --device webgpu --config 8b --weight-dtype f16 --steps 64 --format json | tee "$out/gpu-e2e.jsonl"

step "steering: overhead on 5 layers, lambda-grid batching (8B shape, f16)"
timeout 300 node bin/dsteer.js bench --suite steering --device webgpu --config 8b --weight-dtype f16 --steps 32 --format json | tee "$out/gpu-steering.jsonl"
