/**
 * Model-based metrics on the tiny fixtures: likelihoods equal score(); the shift is 0 for a model
 * against itself, 0/1 on constructed anchors and monotone against an independent f64 oracle;
 * pooled states equal per-token captures averaged by hand. Tolerances: 1e-5 absolute between
 * differently batched f32 forwards, 1e-12 for pure f64 arithmetic.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { MemoryDir } from '../../engine/byte-source.js';
import { NodeDir } from '../../engine/byte-source-node.js';
import { cpuBackend } from '../../kernels/backend.js';
import { cosine, likelihoodShiftRaw, normalizeShift, outputLikelihoods, pooledStates, type OutputItem } from '../../eval/metrics/model.js';
import type { Model } from '../../models/llama.js';
import { loadModel } from '../../models/load.js';
import { feed } from '../../models/run.js';
import { score } from '../../models/score.js';
import { loadTokenizer, type ModelTokenizer } from '../../models/tokenizer.js';
import { haveShared, sharedPath } from '../helpers.js';

const LLAMA = 'fixtures/tiny-llama3-bf16-sharded';
const MISTRAL = 'fixtures/tiny-mistral-f32';
const have = haveShared(`${LLAMA}/config.json`) && haveShared(`${MISTRAL}/config.json`);
/** BOS, each turn as `<3> content `, then `<4>` as the generation prompt (as in the doc examples). */
const TEMPLATE = '{{ bos_token }}{% for m in messages %}<3> {{ m.content }} {% endfor %}{% if add_generation_prompt %}<4>{% endif %}';

/** log-softmax of one logits row in f64 (the oracle). */
function logSoftmax64(row: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of row) max = Math.max(max, v);
  let z = 0;
  for (const v of row) z += Math.exp(v - max);
  const lz = max + Math.log(z);
  return Float64Array.from(row, (v) => v - lz);
}

describe.skipIf(!have)('model-based metrics', () => {
  let sft: Model;
  let dpo: Model;
  let tok: ModelTokenizer;
  const msg = (content: string): OutputItem['messages'] => [{ role: 'user', content }];
  const items: OutputItem[] = [
    { messages: msg('<5> <9>'), text: ' <13> <20> <7>' },
    { messages: msg('<11>'), text: '' },
    { messages: [{ role: 'user', content: '<8>' }, { role: 'assistant', content: '<9>' }, { role: 'user', content: '<10> <12>' }], text: ' <40>' },
    { messages: msg('<100> <101> <102>'), text: ' <3> <3> <3> <3>' },
  ];

  beforeAll(async () => {
    const llamaDir = await NodeDir.open(sharedPath(LLAMA));
    sft = (await loadModel(llamaDir, cpuBackend())).model;
    // a second, unrelated model that reads the same id-level tokens (<i> = id i, ids < 256 shared)
    dpo = (await loadModel(await NodeDir.open(sharedPath(MISTRAL)), cpuBackend())).model;
    tok = await loadTokenizer(
      new MemoryDir('tiny-llama3 with a chat template', {
        'tokenizer.json': (await llamaDir.readText('tokenizer.json'))!,
        'tokenizer_config.json': (await llamaDir.readText('tokenizer_config.json'))!,
        'chat_template.jinja': TEMPLATE,
      }),
    );
  });

  it('outputLikelihoods equal a direct score() of the chat-encoded prompt + output; empty outputs have 0 tokens', async () => {
    const ll = await outputLikelihoods(sft, tok, items);
    const e0 = tok.encodePromptContinuation({ messages: items[0]!.messages }, items[0]!.text);
    expect(e0.ids).toEqual([1, 3, 5, 9, 4, 13, 20, 7]); // BOS, <3> turn, <4> generation prompt, output
    expect(e0.promptLen).toBe(5);
    const scoredIdx = [0, 2, 3];
    const direct = await score(sft, scoredIdx.map((i) => tok.encodePromptContinuation({ messages: items[i]!.messages }, items[i]!.text)));
    scoredIdx.forEach((i, k) => {
      expect(ll[i]!.sum).toBe(direct[k]!.sum); // same batch, same bits
      expect(ll[i]!.tokens).toBe(direct[k]!.logprobs.length);
    });
    expect(ll.map((l) => l.tokens)).toEqual([3, 0, 1, 4]);
    expect(ll[1]).toEqual({ sum: 0, tokens: 0 });
    // one at a time: same values within the batching tolerance
    const [alone] = await outputLikelihoods(sft, tok, [items[3]!]);
    expect(Math.abs(alone!.sum - ll[3]!.sum)).toBeLessThan(1e-4);
  });

  it('the shift of a model against itself is exactly 0, and null for empty outputs', async () => {
    const a = await outputLikelihoods(sft, tok, items);
    const b = await outputLikelihoods(sft, tok, items);
    const raw = items.map((_, i) => likelihoodShiftRaw(a[i]!.sum, b[i]!.sum, a[i]!.tokens));
    expect(raw).toEqual([0, null, 0, 0]);
  });

  it('normalisation puts the anchors at 0 and 1 and is monotone against an f64 oracle (single-token outputs)', async () => {
    const prompt = msg('<5> <9>');
    const cand = [10, 20, 30, 40, 50, 60, 70, 80, 90, 100, 110, 120];
    const outs = cand.map((t) => ({ messages: prompt, text: ` <${t}>` }));
    const la = await outputLikelihoods(sft, tok, outs);
    const lb = await outputLikelihoods(dpo, tok, outs);
    const raw = outs.map((_, i) => likelihoodShiftRaw(la[i]!.sum, lb[i]!.sum, la[i]!.tokens)!);
    // oracle: both models' next-token log-softmax after the prompt, in f64
    const pids = tok.encodePrompt({ messages: prompt });
    const rows: Float64Array[] = [];
    for (const m of [sft, dpo]) {
      await feed(m, [{ ids: pids, logits: { from: pids.length - 1, to: pids.length } }], { onLogits: (_s, _p, row) => rows.push(logSoftmax64(row)) });
    }
    const oracle = cand.map((t) => rows[1]![t]! - rows[0]![t]!);
    raw.forEach((r, i) => expect(Math.abs(r - oracle[i]!)).toBeLessThan(1e-4));
    // anchors: the SFT anchor's outputs are the three least DPO-like tokens, the DPO anchor's the three most
    const order = cand.map((_, i) => i).sort((i, j) => oracle[i]! - oracle[j]!);
    const sftAnchor = order.slice(0, 3);
    const dpoAnchor = order.slice(-3);
    const mean = (ix: number[]): number => ix.reduce((t, i) => t + raw[i]!, 0) / ix.length;
    const ms = mean(sftAnchor);
    const md = mean(dpoAnchor);
    expect(md).toBeGreaterThan(ms);
    const norm = raw.map((r) => normalizeShift(r, ms, md)!);
    const nmean = (ix: number[]): number => ix.reduce((t, i) => t + norm[i]!, 0) / ix.length;
    expect(Math.abs(nmean(sftAnchor))).toBeLessThan(1e-12);
    expect(Math.abs(nmean(dpoAnchor) - 1)).toBeLessThan(1e-12);
    // monotone: sorted by the oracle, the normalised shifts never decrease (beyond f32 noise)
    for (let k = 1; k < order.length; k++) {
      if (oracle[order[k]!]! - oracle[order[k - 1]!]! > 1e-3) expect(norm[order[k]!]!).toBeGreaterThan(norm[order[k - 1]!]!);
    }
    // the middle tokens lie strictly between the anchors' means
    for (const i of order.slice(3, -3)) expect(norm[i]! > nmean(sftAnchor) && norm[i]! < nmean(dpoAnchor)).toBe(true);
  });

  it('normalizeShift: affine map, null for null raws and tied anchors', () => {
    expect(normalizeShift(-0.5, -1, 1)).toBe(0.25);
    expect(normalizeShift(3, -1, 1)).toBe(2); // beyond the DPO anchor
    expect(normalizeShift(null, 0, 1)).toBeNull();
    expect(normalizeShift(0.7, 0.3, 0.3)).toBeNull();
    expect(normalizeShift(0, 1, -1)).toBe(0.5); // reversed anchors: decreasing map, as defined
  });

  it('pooledStates equal the mean of ln_final captures over the output tokens, taken by hand', async () => {
    const pooled = await pooledStates(sft, tok, items);
    expect(pooled[1]).toBeNull();
    for (const i of [0, 2, 3]) {
      const { ids, promptLen } = tok.encodePromptContinuation({ messages: items[i]!.messages }, items[i]!.text);
      const acc = new Float64Array(sft.cfg.dim);
      let n = 0;
      // capture every position, keep only the output's
      await feed(sft, [{ ids, capture: { from: 0, to: ids.length } }], {
        hooks: ['ln_final.hook_normalized'],
        onCapture: (_s, p, h) => {
          if (p < promptLen) return;
          n++;
          h.get('ln_final.hook_normalized')!.forEach((v, j) => (acc[j] += v));
        },
      });
      expect(n).toBe(ids.length - promptLen);
      const p = pooled[i]!;
      expect(p.length).toBe(sft.cfg.dim);
      let worst = 0;
      for (let j = 0; j < p.length; j++) worst = Math.max(worst, Math.abs(p[j]! - acc[j]! / n));
      expect(worst).toBeLessThan(1e-5);
    }
    expect(cosine(pooled[0]!, pooled[0]!)).toBeCloseTo(1, 12);
  });

  it('an item longer than the context is refused by its index', async () => {
    const long = { messages: msg('<5>'), text: ' <9>'.repeat(sft.cfg.maxContext) };
    await expect(outputLikelihoods(sft, tok, [items[0]!, long])).rejects.toThrow(/output 1: prompt \+ output are \d+ tokens; the model's context is 256/);
    await expect(pooledStates(sft, tok, [long])).rejects.toThrow(/output 0:/);
  });

  it('cosine in f64 against a hand computation', () => {
    const a = new Float32Array([1, 2, 3]);
    const b = new Float32Array([4, -5, 6]);
    expect(cosine(a, b)).toBeCloseTo(12 / Math.sqrt(14 * 77), 14);
    expect(cosine(new Float32Array(3), b)).toBeNull();
    expect(() => cosine(a, new Float32Array(2))).toThrow(/length 3 and 2/);
  });
});
