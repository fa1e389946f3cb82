/**
 * Spectral analysis benchmark (issue 5): wall time of svdSpectrum on one layer's sample matrix,
 * N x d with d = 4,096 by default, uncentred with the first right vector (as `dsteer spectral`
 * does) and centred without vectors. The matrix is a planted rank-one signal plus noise, and the
 * result is validated (s2/s1 and alignment of v1 with the planted direction) before it is reported.
 *
 * Usage: node dist/bench/spectral.js [N ...] [--dim D]   (default N = 2000 10000, D = 4096)
 */
import { Rng } from '../engine/rng.js';
import { svdSpectrum } from '../steering/linalg.js';

function main(): void {
  const args = process.argv.slice(2);
  const dimAt = args.indexOf('--dim');
  const d = dimAt >= 0 ? Number(args[dimAt + 1]) : 4096;
  const ns = args.filter((_, i) => dimAt < 0 || (i !== dimAt && i !== dimAt + 1)).map(Number);
  for (const n of ns.length ? ns : [2000, 10000]) {
    const rng = new Rng(n);
    const dir = new Float64Array(d);
    for (let j = 0; j < d; j++) dir[j] = rng.uniform() - 0.5;
    const norm = Math.hypot(...dir);
    for (let j = 0; j < d; j++) dir[j] /= norm;
    const rows = new Float64Array(n * d);
    for (let i = 0; i < n; i++) {
      const a = 2 + rng.uniform();
      for (let j = 0; j < d; j++) rows[i * d + j] = a * dir[j]! + 0.01 * (rng.uniform() - 0.5);
    }
    let t = performance.now();
    const u = svdSpectrum(rows, n, d, { centre: false, vectors: 1 });
    const tUncentred = (performance.now() - t) / 1000;
    t = performance.now();
    const c = svdSpectrum(rows, n, d, { centre: true });
    const tCentred = (performance.now() - t) / 1000;
    let align = 0;
    for (let j = 0; j < d; j++) align += u.rightVectors[0]![j]! * dir[j]!;
    const ratio = u.singularValues[1]! / u.singularValues[0]!;
    if (!(Math.abs(align) > 0.999 && ratio < 0.05 && c.singularValues[0]! > 0)) throw new Error(`validation failed: |cos| ${align}, s2/s1 ${ratio}`);
    const side = n <= d ? `Gram ${n}x${n}` : `covariance ${d}x${d}`;
    console.log(`spectral N=${n} d=${d} (${side}, f64, 1 thread, node ${process.version}): uncentred+v1 ${tUncentred.toFixed(1)} s, centred ${tCentred.toFixed(1)} s; |cos(v1, planted)| ${Math.abs(align).toFixed(5)}, s2/s1 ${ratio.toExponential(2)}`);
  }
}

main();
