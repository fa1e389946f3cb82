/**
 * stories260k (a trained 260K-parameter Llama from llama2.c, ../shared/models/stories260k): the
 * config it loads with, and its greedy transcript from BOS pinned.
 *
 * The transcript below was produced by this engine (CPU backend) and pasted here. It is not an
 * independent reference: the engine already matches the independent float64 golden fixtures
 * (tests/models/golden.test.ts) to 1e-3 with identical greedy ids, so this pins current behaviour
 * on real trained weights (GQA 8/4, head dim 8, tied embeddings, 5 layers) against future
 * regressions. Per the model's README its greedy output repeats tokens early on; that is the model.
 * The id-level tokenizer has no text: token ids only (BOS = 1, EOS = 2).
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { NodeDir } from '../../engine/byte-source-node.js';
import { cpuBackend } from '../../kernels/backend.js';
import { generate } from '../../models/generate.js';
import type { Model } from '../../models/llama.js';
import { loadModel, type LoadedModel } from '../../models/load.js';
import { haveShared, sharedPath } from '../helpers.js';

/** Greedy (temperature 0), 64 new tokens from [1], stopIds [] (no eos stop). */
const GREEDY_64 = [
  461, 461, 401, 401, 401, 461, 378, 455, 473, 456, 435, 299, 362, 409, 283, 264,
  283, 452, 288, 13, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431, 431,
  431, 293, 430, 417, 363, 416, 315, 342, 418, 424, 400, 442, 402, 303, 266, 299,
  374, 466, 396, 303, 271, 362, 390, 469, 306, 469, 423, 314, 347, 305, 356, 333,
];

const present = haveShared('models/stories260k/config.json');
describe.skipIf(!present)(`stories260k${present ? '' : ' (SKIPPED: ../shared absent)'}`, () => {
  let loaded: LoadedModel<Float32Array, Int32Array>;
  let m: Model<Float32Array, Int32Array>;
  beforeAll(async () => {
    loaded = await loadModel(await NodeDir.open(sharedPath('models/stories260k')), cpuBackend());
    m = loaded.model;
  });

  it('loads with the expected config: dim 64, 5 layers, GQA 8/4, vocab 512, tied embeddings', () => {
    expect(m.cfg).toMatchObject({
      modelType: 'llama',
      dim: 64,
      hiddenDim: 172,
      nLayers: 5,
      nHeads: 8,
      nKvHeads: 4,
      headDim: 8,
      vocabSize: 512,
      tiedEmbeddings: true,
      qkvBias: false,
      oBias: false,
      ropeTheta: 10000,
      ropeScaling: null,
      maxContext: 512,
      bosTokenId: 1,
      eosTokenIds: [2],
    });
    expect(m.cfg.normEps).toBeCloseTo(1e-5, 12);
    expect(m.weights.layers.length).toBe(5);
    // tied: the LM head is the embedding table itself
    expect(m.weights.lmHead).toBe(m.weights.embed);
    expect(m.weights.embed.length).toBe(512 * 64);
    expect(loaded.unused).toEqual([]);
  });

  it('greedy transcript from BOS, 64 new tokens, stopIds [] (pinned)', async () => {
    const [r] = await generate(m, [{ promptIds: [1], maxNewTokens: 64, temperature: 0, stopIds: [] }]);
    expect(r).toEqual({ ids: GREEDY_64, finish: 'length' });
  });

  it('with the default eos stop: no EOS (2) within 64 tokens, so the same 64 tokens and finish "length"', async () => {
    expect(GREEDY_64).not.toContain(2);
    const [r] = await generate(m, [{ promptIds: [1], maxNewTokens: 64 }]);
    expect(r).toEqual({ ids: GREEDY_64, finish: 'length' });
  });

  it('greedy transcript is prefix-consistent: 16 tokens = the first 16 of the 64', async () => {
    const [r] = await generate(m, [{ promptIds: [1], maxNewTokens: 16, stopIds: [] }]);
    expect(r!.ids).toEqual(GREEDY_64.slice(0, 16));
    // and continuing from BOS + the first 32 gives the last 32
    const [c] = await generate(m, [{ promptIds: [1, ...GREEDY_64.slice(0, 32)], maxNewTokens: 32, stopIds: [] }]);
    expect(c!.ids).toEqual(GREEDY_64.slice(32));
  });
});
