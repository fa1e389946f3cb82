/**
 * PCA to two dimensions for the activation view, in float64: centre the rows, form the d x d
 * covariance, take its two leading eigenvectors by power iteration with deflation (d is the hidden
 * size: 64 for the micro pair, so this is instant), project. Signs are made canonical (the largest
 * loading of each component positive) so the picture does not flip between redraws.
 */

export interface Pca2 {
  /** [n][2] projected coordinates. */
  coords: [number, number][];
  /** The two components' variances (eigenvalues of the covariance, divisor n). */
  variances: [number, number];
  /** Share of the total variance the two components explain, in [0, 1]. */
  explained: number;
  /** Projects any row of length d onto the same two components. */
  project(row: ArrayLike<number>): [number, number];
}

/**
 * Projects `rows` (all of one length d) onto their first two principal components.
 * @example
 * const p = pca2([[1, 0, 0], [-1, 0, 0], [0, 0.5, 0], [0, -0.5, 0]]);
 * assert(Math.abs(p.variances[0] - 0.5) < 1e-9 && Math.abs(p.coords[0][0] - 1) < 1e-9);
 */
export function pca2(rows: ArrayLike<number>[]): Pca2 {
  const n = rows.length;
  if (n === 0) return { coords: [], variances: [0, 0], explained: 0, project: () => [0, 0] };
  const d = rows[0]!.length;
  const mean = new Float64Array(d);
  for (const r of rows) for (let j = 0; j < d; j++) mean[j]! += r[j]! / n;
  const X = rows.map((r) => Float64Array.from({ length: d }, (_, j) => r[j]! - mean[j]!));
  const C = new Float64Array(d * d);
  for (const x of X) for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) C[i * d + j]! += (x[i]! * x[j]!) / n;
  let total = 0;
  for (let i = 0; i < d; i++) total += C[i * d + i]!;
  const comps: Float64Array[] = [];
  const vars: number[] = [];
  for (let c = 0; c < 2; c++) {
    // start from a fixed vector not orthogonal to typical data; 500 iterations or convergence
    let v = Float64Array.from({ length: d }, (_, j) => 1 + j / d);
    let lambda = 0;
    for (let it = 0; it < 500; it++) {
      const w = new Float64Array(d);
      for (let i = 0; i < d; i++) {
        let s = 0;
        for (let j = 0; j < d; j++) s += C[i * d + j]! * v[j]!;
        w[i] = s;
      }
      for (const p of comps) {
        const dot = p.reduce((s, pj, j) => s + pj * w[j]!, 0);
        for (let j = 0; j < d; j++) w[j]! -= dot * p[j]!;
      }
      const norm = Math.hypot(...w);
      if (norm === 0) { v = new Float64Array(d); lambda = 0; break; }
      const next = w.map((x) => x / norm);
      const diff = next.reduce((s, x, j) => s + Math.abs(x - v[j]!), 0);
      v = next;
      lambda = norm;
      if (diff < 1e-13) break;
    }
    let big = 0;
    for (let j = 0; j < d; j++) if (Math.abs(v[j]!) > Math.abs(v[big]!)) big = j;
    if (v[big]! < 0) v = v.map((x) => -x);
    comps.push(v);
    vars.push(lambda);
    // deflate: remove the found component from C
    for (let i = 0; i < d; i++) for (let j = 0; j < d; j++) C[i * d + j]! -= lambda * v[i]! * v[j]!;
  }
  const project = (row: ArrayLike<number>): [number, number] =>
    comps.map((p) => p.reduce((s, pj, j) => s + pj * (row[j]! - mean[j]!), 0)) as [number, number];
  return { coords: rows.map(project), variances: [vars[0]!, vars[1]!], explained: total > 0 ? (vars[0]! + vars[1]!) / total : 0, project };
}
