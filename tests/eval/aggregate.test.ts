// eval/aggregate.ts on constructed score rows with hand-computed means; intervals checked against
// the generic bootstrap of eval/stats.ts (pooled mean over resampled prompts). Tolerance 1e-12.
import { describe, expect, it } from 'vitest';
import { DsteerError } from '../../engine/errors.js';
import { aggregate, BASE_METRICS, type JudgeScores, type ScoreRow } from '../../eval/aggregate.js';
import { bootstrap, mean } from '../../eval/stats.js';

function row(dataset: string, p: number, model: 'sft' | 'dpo', lambda: number, over: Partial<ScoreRow> = {}): ScoreRow {
  return {
    key: `${dataset}|${p}|${model}|${lambda}`,
    dataset,
    prompt_index: p,
    model,
    lambda,
    chars: 40,
    words: 8,
    valid: true,
    invalid_reason: null,
    rep4: 0,
    distinct1: 1,
    distinct2: 1,
    self_ppl: 5,
    refusal: false,
    refusal_source: 'embedded',
    ll_sft: -10,
    ll_dpo: -10,
    ll_tokens: 10,
    shift_raw: 0,
    cos_sft: 1,
    cos_dpo: 0.5,
    judge: null,
    ...over,
  };
}

function judge(over: Partial<JudgeScores>): JudgeScores {
  return { mode: 'embedded', style: null, unclassified: false, quality: 0.5, relevance: 0.5, helpfulness: 0.5, toxicity: 0, refusal: 0, steering_shift: 0.5, harmfulness: 0, ...over };
}

/** Four prompts; raw shift: SFT anchor -1 + p/10, DPO anchor 3 + p/10, lambda 0.2 -> 1 + p/10, lambda -0.4 -> 2 + p/10. */
function hhRows(): ScoreRow[] {
  return [0, 1, 2, 3].flatMap((p) => [
    row('hh', p, 'sft', 0, { shift_raw: -1 + p / 10, refusal: p < 3, chars: 50 + 10 * p, valid: true }),
    row('hh', p, 'dpo', 0, { shift_raw: 3 + p / 10, refusal: p === 0, chars: 300 }),
    row('hh', p, 'sft', 0.2, { shift_raw: 1 + p / 10, rep4: p / 10, valid: p !== 1, self_ppl: p === 0 ? null : 4 }),
    row('hh', p, 'dpo', -0.4, { shift_raw: 2 + p / 10, words: 10 + p }),
  ]);
}

describe('aggregate', () => {
  const d = aggregate(hhRows(), { reps: 400, seed: 3 }).hh!;

  it('normalises the shift so the SFT anchor averages 0 and the DPO anchor 1', () => {
    expect(d.prompts).toBe(4);
    expect(d.shift_reference!.sft).toBeCloseTo(-0.85, 12);
    expect(d.shift_reference!.dpo).toBeCloseTo(3.15, 12);
    expect(d.anchors.sft.metrics.shift!.mean).toBeCloseTo(0, 12);
    expect(d.anchors.dpo.metrics.shift!.mean).toBeCloseTo(1, 12);
    // lambda 0.2: mean raw 1.15 -> (1.15 + 0.85) / 4 = 0.5; lambda -0.4: (2.15 + 0.85) / 4 = 0.75
    expect(d.lambdas.map((l) => [l.lambda, l.model, l.n])).toEqual([
      [-0.4, 'dpo', 4],
      [0.2, 'sft', 4],
    ]);
    expect(d.lambdas[1]!.metrics.shift!.mean).toBeCloseTo(0.5, 12);
    expect(d.lambdas[0]!.metrics.shift!.mean).toBeCloseTo(0.75, 12);
  });

  it('computes every metric as docs/RUNS.md defines it', () => {
    const sft = d.anchors.sft.metrics;
    expect(sft.refusal_rate!.mean).toBe(0.75);
    expect(sft.refusal_chars!.mean).toBe(60); // refusals at p = 0, 1, 2: 50, 60, 70 chars
    expect(d.anchors.dpo.metrics.refusal_chars!.mean).toBe(300);
    const l02 = d.lambdas[1]!.metrics;
    expect(l02.validity!.mean).toBe(0.75);
    expect(l02.rep4!.mean).toBeCloseTo(0.15, 12);
    expect(l02.self_ppl!.mean).toBe(4); // null self_ppl skipped
    expect(l02.refusal_chars).toBeNull(); // no refusals
    expect(d.lambdas[0]!.metrics.words!.mean).toBe(11.5);
    expect(l02.chars!.mean).toBe(40);
    expect(l02.cos_sft!.mean).toBe(1);
    expect(l02.cos_dpo!.mean).toBe(0.5);
    expect(l02.distinct2!.mean).toBe(1);
    expect(Object.keys(l02).sort()).toEqual([...BASE_METRICS].sort()); // no judge metrics without a judge
    expect(d.anchors.sft.unscored).toBeUndefined();
  });

  it('intervals hold the mean and equal the generic bootstrap over prompts', () => {
    for (const agg of [d.anchors.sft, d.anchors.dpo, ...d.lambdas]) {
      for (const [name, m] of Object.entries(agg.metrics)) {
        if (!m) continue;
        expect(m.lo, name).toBeLessThanOrEqual(m.mean + 1e-12);
        expect(m.hi, name).toBeGreaterThanOrEqual(m.mean - 1e-12);
      }
    }
    // refusal chars of the SFT anchor: the pooled mean over the refusal rows of the drawn prompts
    const chars = [[50], [60], [70], []];
    const ref = bootstrap(chars, (s) => (s.flat().length ? mean(s.flat()) : null), { reps: 400, seed: 3 })!;
    const got = d.anchors.sft.metrics.refusal_chars!;
    expect(got.lo).toBeCloseTo(ref.lo, 12);
    expect(got.hi).toBeCloseTo(ref.hi, 12);
  });

  it('is deterministic for a seed', () => {
    expect(aggregate(hhRows(), { reps: 400, seed: 3 })).toEqual(aggregate(hhRows(), { reps: 400, seed: 3 }));
    expect(aggregate(hhRows(), { reps: 400, seed: 4 }).hh!.lambdas[1]!.metrics.rep4).not.toEqual(d.lambdas[1]!.metrics.rep4);
  });

  it('adds judge metrics with counts of unscored rows', () => {
    const rows = hhRows().map((r) =>
      r.lambda === 0.2 ? { ...r, judge: r.prompt_index === 3 ? null : judge({ quality: r.prompt_index === 2 ? null : 0.2 * (r.prompt_index + 1) }) } : { ...r, judge: judge({}) },
    );
    const j = aggregate(rows, { reps: 100 }).hh!;
    const l = j.lambdas.find((x) => x.lambda === 0.2)!;
    expect(l.metrics.judge_quality!.mean).toBeCloseTo(0.3, 12); // 0.2 and 0.4; p 2 unscored, p 3 unjudged
    expect(l.unscored).toEqual({ quality: 2, relevance: 1, helpfulness: 1, toxicity: 1, refusal: 1, steering_shift: 1, harmfulness: 1 });
    expect(j.anchors.sft.metrics.judge_steering_shift!.mean).toBe(0.5);
    expect(j.anchors.sft.unscored).toBeUndefined();
  });

  it('keeps datasets apart, sorted by name, and groups lambdas rounded to 6 decimals', () => {
    const rows = [
      row('zeta', 0, 'sft', 0, { shift_raw: 0 }),
      row('zeta', 0, 'dpo', 0, { shift_raw: 10 }),
      row('zeta', 0, 'sft', 0.1 + 0.2, { shift_raw: 5 }),
      row('zeta', 1, 'sft', 0.3, { shift_raw: 7 }),
      ...hhRows(),
    ];
    const a = aggregate(rows, { reps: 50 });
    expect(Object.keys(a)).toEqual(['hh', 'zeta']);
    expect(a.zeta!.prompts).toBe(2);
    expect(a.zeta!.lambdas.map((l) => [l.lambda, l.n])).toEqual([[0.3, 2]]);
    expect(a.zeta!.lambdas[0]!.metrics.shift!.mean).toBeCloseTo(0.6, 12);
    expect(a.hh!.anchors.dpo.metrics.shift!.mean).toBeCloseTo(1, 12);
  });

  it('without an anchor: n 0, null metrics, no shift anywhere', () => {
    const a = aggregate([row('x', 0, 'sft', 0), row('x', 0, 'sft', 0.5)], { reps: 20 }).x!;
    expect(a.shift_reference).toBeNull();
    expect(a.anchors.dpo.n).toBe(0);
    expect(Object.values(a.anchors.dpo.metrics).every((m) => m === null)).toBe(true);
    expect(a.lambdas[0]!.metrics.shift).toBeNull();
    expect(a.lambdas[0]!.metrics.rep4!.mean).toBe(0);
    expect(aggregate([], {})).toEqual({});
  });

  it('rejects malformed rows naming the row and field', () => {
    const expectError = (rows: ScoreRow[], re: RegExp): void => {
      let err: unknown;
      try {
        aggregate(rows, { reps: 10 });
      } catch (e) {
        err = e;
      }
      expect(err).toBeInstanceOf(DsteerError);
      expect((err as DsteerError).exitCode).toBe(1);
      expect((err as Error).message).toMatch(re);
    };
    expectError([row('x', 0, 'ref' as 'sft', 0)], /scores row 1 \(key x\|0\|ref\|0\): field "model" is "ref"; expected "sft" or "dpo"/);
    expectError([row('x', 0, 'sft', 0), row('x', 0, 'dpo', 0.2)], /row 2 .*field "model".*positive lambdas steer sft/);
    expectError([row('x', -1, 'sft', 0)], /field "prompt_index" is -1; expected an integer >= 0/);
    expectError([row('x', 0, 'sft', NaN)], /field "lambda"/);
    expectError([row('', 0, 'sft', 0)], /field "dataset"/);
    expectError([row('x', 0, 'sft', 0.2), row('x', 0, 'sft', 0.2000000001)], /row 2: a second row for dataset x, prompt 0, model sft, lambda 0.2/);
  });
});
