/**
 * The shared golden fixtures: an independent float64 implementation of Hugging Face semantics.
 * Last-token logits and every hook_resid_post within 1e-3 (the fixtures' tolerance guide for an
 * f32 engine), greedy ids identical; unsteered and steered.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { NodeDir, FileSource } from '../../engine/byte-source-node.js';
import { cpuBackend } from '../../kernels/backend.js';
import { generate } from '../../models/generate.js';
import { loadModel } from '../../models/load.js';
import { feed } from '../../models/run.js';
import { readVectorFile, selectLayers } from '../../steering/vector.js';
import { FIXTURES, haveShared, sharedPath } from '../helpers.js';

interface GoldenCase {
  name: string;
  prompt_ids: number[];
  steer?: { file: string; lambda: number; layers: number[] };
  last_logits: number[];
  hooks_last_token: Record<string, number[]>;
  greedy_ids: number[];
}

const TOL = 1e-3;

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

for (const fx of FIXTURES) {
  const present = haveShared(`fixtures/${fx}/golden.json`);
  describe.skipIf(!present)(`golden fixture ${fx}${present ? '' : ' (SKIPPED: ../shared absent)'}`, async () => {
    const dir = sharedPath(`fixtures/${fx}`);
    const golden = present ? (JSON.parse(readFileSync(`${dir}/golden.json`, 'utf8')) as { cases: GoldenCase[] }) : { cases: [] };
    for (const c of golden.cases) {
      it(`${c.name}: logits, hooks and greedy ids`, async () => {
        const { model } = await loadModel(await NodeDir.open(dir), cpuBackend());
        let steering;
        let steer;
        if (c.steer) {
          const src = await FileSource.open(`${dir}/${c.steer.file}`);
          const sv = await readVectorFile(src);
          await src.close();
          const sites = selectLayers(sv, c.steer.layers);
          const vectors = new Float32Array(sites.length * model.cfg.dim);
          sites.forEach((h, j) => vectors.set(sv.vectors.get(h)!, j * model.cfg.dim));
          steering = { sites, vectors, preserveNorm: false };
          steer = { alpha: sites.map(() => c.steer!.lambda), vec: 0, from: 0 };
        }
        const n = c.prompt_ids.length;
        let logits: Float32Array | null = null;
        let hooks: Map<string, Float32Array> | null = null;
        await feed(model, [{ ids: c.prompt_ids, ...(steer ? { steer } : {}), logits: { from: n - 1, to: n }, capture: { from: n - 1, to: n } }], {
          ...(steering ? { steering } : {}),
          hooks: Object.keys(c.hooks_last_token),
          onLogits: (_s, _p, row) => (logits = row.slice()),
          onCapture: (_s, _p, h) => (hooks = new Map([...h].map(([k, v]) => [k, v.slice()]))),
        });
        expect(maxAbsDiff(logits!, c.last_logits)).toBeLessThan(TOL);
        for (const [h, want] of Object.entries(c.hooks_last_token)) {
          expect(maxAbsDiff(hooks!.get(h)!, want), h).toBeLessThan(TOL);
        }
        const [g] = await generate(model, [{ promptIds: c.prompt_ids, maxNewTokens: c.greedy_ids.length, stopIds: [], ...(steer ? { steer } : {}) }], steering ? { steering } : {});
        expect(g!.ids).toEqual(c.greedy_ids);
      });
    }
  });
}
