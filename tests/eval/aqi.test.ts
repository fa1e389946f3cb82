/**
 * AQI: the cluster indices on hand-made clusters with known values, the anchored normalisation,
 * the balanced sampling, and AQI end to end on the shipped micro pair (a few texts per cell).
 */
import { describe, expect, it } from 'vitest';
import { MemorySource } from '../../engine/byte-source.js';
import { NodeDir, FileSource } from '../../engine/byte-source-node.js';
import { collectLitmus } from '../../data/readers/litmus.js';
import { cpuBackend } from '../../kernels/backend.js';
import { loadModel } from '../../models/load.js';
import { readVectorFile } from '../../steering/vector.js';
import { embedSequences, runAqi, sampleLitmus } from '../../eval/aqi.js';
import { anchoredZ, aqiScore, calinskiHarabasz, xieBeni } from '../../eval/cluster-indices.js';
import { renderReport } from '../../eval/report/index.js';
import { aqiCsv } from '../../eval/report/csv.js';
import { buildReport } from '../../eval/report-data.js';
import { repoPath } from '../helpers.js';

describe('cluster indices', () => {
  // two clusters in 2-D: A = (0,0), (2,0), (0,2), (2,2) (centre (1,1)); B = (10,0), (12,0) (centre (11,0))
  // global centre (14/3... computed below); W = 4 * 2 + 2 * 1 = 10; |mu_A - mu_B|^2 = 100 + 1 = 101
  const data = [0, 0, 2, 0, 0, 2, 2, 2, 10, 0, 12, 0];
  const labels = [0, 0, 0, 0, 1, 1];
  it('Calinski-Harabasz = (B / (k-1)) / (W / (n-k)) by hand', () => {
    // mu = (26/6, 4/6); B = 4 |(1,1) - mu|^2 + 2 |(11,0) - mu|^2
    const mu = [26 / 6, 4 / 6];
    const B = 4 * ((1 - mu[0]!) ** 2 + (1 - mu[1]!) ** 2) + 2 * ((11 - mu[0]!) ** 2 + (0 - mu[1]!) ** 2);
    const want = B / 1 / (10 / 4);
    expect(Math.abs(calinskiHarabasz({ data, n: 6, d: 2 }, labels) - want) / want).toBeLessThan(1e-14);
    // B = n_A n_B / n |mu_A - mu_B|^2 for two clusters: 4 * 2 / 6 * 101
    expect(B).toBeCloseTo((8 / 6) * 101, 12);
  });
  it('Xie-Beni = W / (n * min squared centre distance) by hand', () => {
    expect(xieBeni({ data, n: 6, d: 2 }, labels)).toBeCloseTo(10 / (6 * 101), 15);
  });
  it('labels may be booleans; perfectly tight clusters give CHI = Infinity and XB = 0', () => {
    const p = { data: [1, 1, 1, 5, 5, 5], n: 6, d: 1 };
    const l = [true, true, true, false, false, false];
    expect(calinskiHarabasz(p, l)).toBe(Infinity);
    expect(xieBeni(p, l)).toBe(0);
  });
  it('refuses a labelling with an empty cluster', () => {
    expect(() => xieBeni({ data: [1, 2, 3], n: 3, d: 1 }, [1, 1, 1])).toThrow(/both clusters/);
  });
});

describe('anchored normalisation', () => {
  it('two anchors land on 26.89 and 73.11 whatever their raw values; ties give 50', () => {
    for (const [cs, cd, xs, xd] of [[10, 30, 0.5, 0.2], [1e-3, 2e-3, 9, 1], [500, 501, 0.01, 0.009]] as const) {
      const anchors = { chi: [cs, cd], xb: [xs, xd] };
      expect(aqiScore({ chi: cs, xb: xs }, anchors).aqi.toFixed(2)).toBe('26.89');
      expect(aqiScore({ chi: cd, xb: xd }, anchors).aqi.toFixed(2)).toBe('73.11');
    }
    expect(aqiScore({ chi: 4, xb: 2 }, { chi: [4, 4], xb: [2, 2] }).aqi).toBe(50);
  });
  it('uses the population std floored at 1e-6', () => {
    expect(anchoredZ(7, [1, 5])).toBe(2); // mean 3, population std 2 (the sample std would give 1.41)
    expect(anchoredZ(1 + 1e-7, [1, 1])).toBeCloseTo(0.1, 9);
  });
});

describe('balanced LITMUS sample', () => {
  it('keeps every cell the same size and is fixed by the seed', async () => {
    const src = await FileSource.open(repoPath('assets/data/micro-litmus.csv'));
    const { rows } = await collectLitmus(src).finally(() => src.close());
    const a = sampleLitmus(rows, 10, 42);
    expect(a.rows.length).toBe(140);
    expect(a.cells.every((c) => c.used === 10 && c.available === 50)).toBe(true);
    expect(sampleLitmus(rows, 10, 42).rows.map((r) => r.lineNo)).toEqual(a.rows.map((r) => r.lineNo));
    expect(sampleLitmus(rows, 10, 43).rows.map((r) => r.lineNo)).not.toEqual(a.rows.map((r) => r.lineNo));
    const lowered = sampleLitmus(rows, 80, 42);
    expect(lowered.perCell).toBe(50);
    expect(lowered.warnings[0]).toMatch(/--per-cell 80 lowered to 50/);
  });
  it('names an axiom that lacks a label', async () => {
    const src = new MemorySource('l.csv', new TextEncoder().encode('input,axiom,safety_label\na,x,safe\nb,x,safe\nc,x,safe\n'));
    const { rows } = await collectLitmus(src);
    expect(() => sampleLitmus(rows, 3, 1)).toThrow(/axiom "x" has no unsafe rows/);
  });
});

describe('AQI on the micro pair', () => {
  it('embeddings are the mean of the captured states over every token (oracle: per-token capture)', async () => {
    const k = cpuBackend();
    const sft = await loadModel(await NodeDir.open(repoPath('assets/micro/sft')), k);
    const ids = sft.tokenizer.encode('why does ice float?');
    const e = await embedSequences(sft, [ids], 'raw');
    const { feed } = await import('../../models/run.js');
    const hook = `blocks.${sft.model.cfg.nLayers - 1}.hook_resid_post`;
    const acc = new Float64Array(sft.model.cfg.dim);
    await feed(sft.model, ids.map((_, p) => ({ ids: ids.slice(0, p + 1), capture: { from: p, to: p + 1 } })), {
      hooks: [hook],
      onCapture: (_s, _p, h) => h.get(hook)!.forEach((v, j) => (acc[j] += v)),
    });
    // each prefix fed alone: same causal states; tolerance covers batched-vs-single f32 sums
    acc.forEach((v, j) => expect(Math.abs(e[j]! - v / ids.length)).toBeLessThan(1e-4));
  });

  it('end to end: anchors at 26.89/73.11 on both spaces, raw indices finite; records whether DPO separates better', async () => {
    const k = cpuBackend();
    const sft = await loadModel(await NodeDir.open(repoPath('assets/micro/sft')), k);
    const dpo = await loadModel(await NodeDir.open(repoPath('assets/micro/dpo')), k);
    const vsrc = await FileSource.open(repoPath('assets/micro/vector.safetensors'));
    const sv = await readVectorFile(vsrc).finally(() => vsrc.close());
    const src = await FileSource.open(repoPath('assets/data/micro-litmus.csv'));
    const { rows } = await collectLitmus(src).finally(() => src.close());
    const r = await runAqi(sft, dpo, sv, rows, { lambdas: [-1, -0.3, 0.3, 1], perCell: 8, seed: 42, iterations: 300 });
    expect(r.config.texts).toBe(8 * 14);
    expect(r.scopes).toEqual(['overall', 'ai_safety', 'privacy', 'honesty', 'fairness', 'harm_prevention', 'legality', 'respect']);
    expect(r.models.map((m) => `${m.model}${m.lambda}`)).toEqual(['sft0', 'dpo0', 'dpo-1', 'dpo-0.3', 'sft0.3', 'sft1']);
    const [s, d] = [r.models[0]!, r.models[1]!];
    for (const scope of r.scopes) {
      for (const space of ['tsne', 'raw'] as const) {
        const a = s.scopes[scope]![space];
        const b = d.scopes[scope]![space];
        expect(Number.isFinite(a.chi) && Number.isFinite(a.xb) && Number.isFinite(b.chi) && Number.isFinite(b.xb)).toBe(true);
        const pair = [a.aqi!, b.aqi!].map((x) => x.toFixed(2)).sort();
        // CHI and XB agree on which anchor separates better -> 26.89/73.11; they disagree -> both 50
        expect(pair.join() === '26.89,73.11' || pair.join() === '50.00,50.00').toBe(true);
      }
    }
    expect(s.scatter!.length).toBe(3 * r.config.texts);
    expect(r.models.find((m) => m.lambda === 0.3)!.scatter).toBeUndefined();
    const o = (m: typeof s, sp: 'tsne' | 'raw') => m.scopes.overall![sp];
    const dpoBetter = o(d, 'raw').chi! > o(s, 'raw').chi! && o(d, 'raw').xb! < o(s, 'raw').xb!;
    console.log(
      `micro pair, 8 per cell, overall: raw CHI sft ${o(s, 'raw').chi!.toFixed(3)} dpo ${o(d, 'raw').chi!.toFixed(3)}; raw XB sft ${o(s, 'raw').xb!.toFixed(4)} dpo ${o(d, 'raw').xb!.toFixed(4)}; ` +
        `t-SNE CHI sft ${o(s, 'tsne').chi!.toFixed(3)} dpo ${o(d, 'tsne').chi!.toFixed(3)}; DPO separates better on both raw indices: ${dpoBetter}`,
    );
    expect(JSON.parse(JSON.stringify(r))).toEqual(r); // aqi.json round-trips (no NaN/Infinity)

    // the report join: buildReport passes aqi through; the page and aqi.csv show it
    const rep = buildReport({ manifest: { config: {} }, generations: [], scores: [], extraction: null, judge: { mode: 'none', note: 'none' }, aqi: r });
    expect(rep.aqi).toBe(r);
    expect('aqi' in buildReport({ manifest: {}, generations: [], scores: [], extraction: null, judge: { mode: 'none', note: '' } })).toBe(false);
    const page = await renderReport(rep);
    const want = ['aqi:aqi:tsne', 'aqi:aqi:raw', 'aqi:chi:tsne', 'aqi:chi:raw', 'aqi:xb:tsne', 'aqi:xb:raw', 'aqi:scatter:sft:0', 'aqi:scatter:dpo:0', 'aqi:scatter:dpo:-1', 'aqi:scatter:sft:1'];
    expect(page.charts.filter((c) => c.startsWith('aqi:'))).toEqual(want);
    expect(page.html).toContain('id="aqi"');
    for (const id of want) expect(page.html).toContain(`data-chart="${id}"><svg`);
    const csv = aqiCsv(rep).trim().split('\n');
    expect(csv.length).toBe(1 + 6 * 8 * 2); // models x scopes x spaces
  }, 180_000);
});
