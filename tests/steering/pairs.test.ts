/** scorePairs: sums equal score() per answer; summary statistics; implicit rewards against a reference. */
import { describe, expect, it } from 'vitest';
import { NodeDir } from '../../engine/byte-source-node.js';
import { cpuBackend } from '../../kernels/backend.js';
import { loadModel } from '../../models/load.js';
import { score } from '../../models/score.js';
import { scorePairs } from '../../steering/pairs.js';
import { haveShared, sharedPath } from '../helpers.js';

const have = haveShared('fixtures/tiny-qwen2-f16-tied/config.json') && haveShared('fixtures/tiny-mistral-f32/config.json');

describe.skipIf(!have)('scorePairs', () => {
  it('summed and mean log-likelihoods, accuracies and margins; rewards against a reference', async () => {
    const { model, tokenizer } = await loadModel(await NodeDir.open(sharedPath('fixtures/tiny-qwen2-f16-tied')), cpuBackend());
    const pairs = [
      { prompt: { text: '<1> <5>' }, chosen: ' <9> <13>', rejected: ' <20>' },
      { prompt: { text: '<1> <7> <8>' }, chosen: ' <100>', rejected: ' <101> <102> <103>' },
      { prompt: { text: '<1>' }, chosen: ' <3>', rejected: ' <4>' },
    ];
    const { scores, summary } = await scorePairs(model, tokenizer, pairs, null);
    // each answer's sum equals score() on the same ids
    const [c0] = await score(model, [{ ids: [1, 5, 9, 13], promptLen: 2 }]);
    expect(scores[0]!.chosen).toBe(c0!.sum);
    expect(scores[0]!.chosenTokens).toBe(2);
    expect(scores[1]!.rejectedTokens).toBe(3);
    expect(scores[1]!.rejectedMean).toBeCloseTo(scores[1]!.rejected / 3, 12);
    const acc = scores.filter((s) => s.chosen > s.rejected).length / 3;
    expect(summary).toMatchObject({ pairs: 3, accuracy: acc });
    expect(summary.mean_margin).toBeCloseTo(scores.reduce((t, s) => t + s.chosen - s.rejected, 0) / 3, 10);
    expect(summary.reward_accuracy).toBeUndefined();
    // against itself every implicit reward is 0: no pair has chosen reward > rejected reward
    const self = await scorePairs(model, tokenizer, pairs, model);
    expect(self.scores.every((s) => s.chosenReward === 0 && s.rejectedReward === 0)).toBe(true);
    expect(self.summary.reward_accuracy).toBe(0);
    expect(self.summary.mean_reward_margin).toBe(0);
  });

  it('an empty answer is refused with the pair named', async () => {
    const { model, tokenizer } = await loadModel(await NodeDir.open(sharedPath('fixtures/tiny-qwen2-f16-tied')), cpuBackend());
    await expect(scorePairs(model, tokenizer, [{ prompt: { text: '<1>' }, chosen: '', rejected: ' <4>' }], null)).rejects.toThrow(/pair 0: the chosen answer encodes to no tokens/);
  });
});
