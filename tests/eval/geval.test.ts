/**
 * G-Eval (eval/judge/geval.ts) over the scripted server: probability-weighted scores against
 * hand-computed values, the fallback to the sampled integer (recorded as score_mode 'raw'), the
 * authors' 0-10 raw mode, steps written once per criterion, the Steering Shift prompt, and the
 * cache (in memory and on disk) making a rerun issue zero requests.
 */
import { mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { FileJudgeCache } from '../../cli/judge-cache.js';
import { MemoryJudgeCache } from '../../eval/judge/cache.js';
import { JudgeClient } from '../../eval/judge/client.js';
import { CRITERIA } from '../../eval/judge/criteria.js';
import { GEval, SCALE_PROB, sampledScore, weightedScore } from '../../eval/judge/geval.js';
import { block, startFakeJudge, type FakeJudge } from './fake-judge.js';

const TOL = 1e-12; // f64 arithmetic on a handful of terms
const open: FakeJudge[] = [];
async function fake(o?: Parameters<typeof startFakeJudge>[0]): Promise<FakeJudge> {
  const f = await startFakeJudge(o);
  open.push(f);
  return f;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

const input = { prompt: 'How do I bake bread?', output: 'Mix flour and water, knead, bake.', sftOutput: 'Sure: mix, knead, bake.', dpoOutput: 'I cannot help with that.' };
const lp = (pairs: [string, number][]) => pairs.map(([token, p]) => ({ token, logprob: Math.log(p) }));

async function judgeWith(s: FakeJudge, replicateAuthors = false): Promise<GEval> {
  const client = new JudgeClient({ endpoints: [s.url], model: 'judge-m' });
  const cap = await client.probe();
  return new GEval({ client, model: 'judge-m', cache: new MemoryJudgeCache(), topLogprobs: cap.topLogprobs, replicateAuthors });
}

describe('weightedScore and sampledScore', () => {
  it('match hand-computed expectations over the renormalised score tokens', () => {
    // 3: .5, 4: .3, junk .2 -> (3*.5 + 4*.3) / .8 = 3.375
    expect(weightedScore([{ token: '3', top: lp([['3', 0.5], ['4', 0.3], ['the', 0.2]]) }], SCALE_PROB)!.value).toBeCloseTo(3.375, 12);
    // variants pooled: " 9" .4 + "9" .1 = .5, "1" .5 -> 5
    const w = weightedScore([{ token: ' 9', top: lp([[' 9', 0.4], ['1', 0.5], ['9', 0.1]]) }], SCALE_PROB)!;
    expect(Math.abs(w.value - 5)).toBeLessThan(TOL);
    expect(Math.abs(w.mass - 1)).toBeLessThan(TOL);
    // out-of-scale digits ("0", "10") do not count on 1..9: 2 alone -> 2
    expect(weightedScore([{ token: '2', top: lp([['2', 0.3], ['0', 0.6], ['10', 0.1]]) }], SCALE_PROB)!.value).toBe(2);
    // the score is read at the first position whose token is a score, not at "Score:"
    const t = [{ token: 'Score', top: lp([['Score', 0.9], ['8', 0.1]]) }, { token: ':', top: lp([[':', 1]]) }, { token: ' 6', top: lp([[' 6', 0.75], [' 7', 0.25]]) }];
    expect(Math.abs(weightedScore(t, SCALE_PROB)!.value - 6.25)).toBeLessThan(TOL);
    expect(weightedScore([{ token: 'x', top: lp([['x', 1]]) }], SCALE_PROB)).toBeNull();
    expect(weightedScore(null, SCALE_PROB)).toBeNull();
    expect(sampledScore('Score: 8/9', SCALE_PROB)).toBe(8);
    expect(sampledScore('banana', SCALE_PROB)).toBeNull();
  });
});

describe('GEval over an OpenAI-compatible endpoint', () => {
  it('scores with probabilities when the endpoint returns top_logprobs (mode geval-prob, score_mode prob)', async () => {
    const s = await fake({ score: () => ({ content: '6', top: [['6', 0.5], ['7', 0.2], ['5', 0.1], ['Six', 0.2]] }) });
    const g = await judgeWith(s);
    expect(g.mode).toBe('geval-prob');
    const row = await g.judgeAll(input);
    const expected = ((6 * 0.5 + 7 * 0.2 + 5 * 0.1) / 0.8 - 1) / 8; // 6.125 on 1..9 -> 0.640625
    for (const c of CRITERIA) {
      expect(Math.abs(row[c.name]! - expected)).toBeLessThan(TOL);
      expect(row.score_modes[c.name]).toBe('prob');
    }
    expect(row).toMatchObject({ mode: 'geval-prob', model: 'judge-m', scale: '1-9' });
    const scoring = s.scoring();
    expect(scoring).toHaveLength(7);
    expect(scoring.every((r) => r.body.logprobs === true && r.body.top_logprobs === 20 && r.body.temperature === 0)).toBe(true);
  });

  it('falls back to the sampled integer without logprobs, per judgment too, and records it', async () => {
    const none = await fake({ logprobs: false, score: () => ({ content: '7' }) });
    const g = await judgeWith(none);
    expect(g.mode).toBe('geval-raw');
    const row = await g.judgeAll(input);
    expect(row.quality).toBe((7 - 1) / 8);
    expect(row.score_modes.quality).toBe('raw');
    expect(none.scoring().every((r) => r.body.logprobs === undefined)).toBe(true);
    // logprobs present, but no score token among the alternatives: the sampled integer, marked raw
    const odd = await fake({ score: (c) => (c.includes('Toxicity') ? { content: '3', top: [['Three', 0.7], ['III', 0.3]] } : c.includes('Harmfulness') ? { content: 'none', top: [['none', 1]] } : { content: '9', top: [['9', 1]] }) });
    const g2 = await judgeWith(odd);
    const r2 = await g2.judgeAll(input);
    expect(r2.mode).toBe('geval-prob');
    expect([r2.quality, r2.score_modes.quality]).toEqual([1, 'prob']);
    expect([r2.toxicity, r2.score_modes.toxicity]).toEqual([0.25, 'raw']);
    expect([r2.harmfulness, r2.score_modes.harmfulness]).toEqual([null, null]); // neither gave a score
  });

  it('--replicate-authors: 0-10 raw integers, no logprobs asked even when available', async () => {
    const s = await fake({ score: (c) => ({ content: c.includes('Refusal') ? '10' : '4', top: [['4', 1]] }) });
    const g = await judgeWith(s, true);
    expect(g.mode).toBe('geval-raw');
    const row = await g.judgeAll(input);
    expect(row.scale).toBe('0-10');
    expect(row.refusal).toBe(1);
    expect(row.quality).toBe(0.4);
    expect(Object.values(row.score_modes).every((m) => m === 'raw')).toBe(true);
    expect(s.scoring().every((r) => r.body.logprobs === undefined && /from 0 to 10/.test(r.content))).toBe(true);
  });

  it('writes the evaluation steps once per criterion; Steering Shift sees the two references, not the prompt', async () => {
    const s = await fake();
    const g = await judgeWith(s);
    const inputs = [0, 1, 2].map((i) => ({ ...input, output: `${input.output} ${i}` }));
    await Promise.all(inputs.map((x) => g.judgeAll(x)));
    expect(s.requests.filter((r) => r.kind === 'steps')).toHaveLength(7);
    expect(s.scoring()).toHaveLength(21);
    const shift = s.scoring().filter((r) => r.content.includes('Steering shift'));
    expect(shift).toHaveLength(3);
    for (const r of shift) {
      expect(block(r.content, 'Reference A')).toBe(input.sftOutput);
      expect(block(r.content, 'Reference B')).toBe(input.dpoOutput);
      expect(r.content).not.toContain(input.prompt);
      expect(r.content).toContain('1. Read the response.'); // the cached steps are in the prompt
    }
    const quality = s.scoring().find((r) => r.content.includes('Response quality'))!;
    expect(block(quality.content, 'Request')).toBe(input.prompt);
    // anchors: the SFT output judged against itself is SFT-like, the DPO output DPO-like
    const sftSelf = await g.judge(CRITERIA[5]!, { ...input, output: input.sftOutput });
    const dpoSelf = await g.judge(CRITERIA[5]!, { ...input, output: input.dpoOutput });
    expect(Math.abs(sftSelf.score! - (1.2 - 1) / 8)).toBeLessThan(TOL);
    expect(Math.abs(dpoSelf.score! - (8.8 - 1) / 8)).toBeLessThan(TOL);
  });

  it('a rerun with the same cache issues zero requests (in memory, and on disk after reopening)', async () => {
    const s = await fake();
    const client = new JudgeClient({ endpoints: [s.url], model: 'judge-m' });
    const dir = mkdtempSync(join(tmpdir(), 'dsteer-geval-'));
    const path = join(dir, 'judge-cache.jsonl');
    const disk = new FileJudgeCache(path);
    const first = await new GEval({ client, model: 'judge-m', cache: disk, topLogprobs: 2 }).judgeAll(input);
    disk.close();
    const paid = s.requests.length;
    expect(paid).toBe(14); // 7 steps + 7 judgments
    expect(readFileSync(path, 'utf8').trim().split('\n')).toHaveLength(14);
    const reopened = new FileJudgeCache(path);
    const g = new GEval({ client, model: 'judge-m', cache: reopened, topLogprobs: 2 });
    expect(await g.judgeAll(input)).toEqual(first);
    expect(s.requests.length).toBe(paid);
    expect(g.stats).toEqual({ paid: 0, cached: 14 });
    // a different judge model, criterion wording or input is a different key: paid again
    await new GEval({ client, model: 'other-judge', cache: reopened, topLogprobs: 2 }).judge(CRITERIA[0]!, input);
    expect(s.requests.length).toBe(paid + 2);
    reopened.close();
  });

  it('a torn last line of the cache file (a crash mid-write) is dropped and rewritten', async () => {
    const s = await fake();
    const client = new JudgeClient({ endpoints: [s.url], model: 'judge-m' });
    const path = join(mkdtempSync(join(tmpdir(), 'dsteer-geval-')), 'judge-cache.jsonl');
    const c1 = new FileJudgeCache(path);
    await new GEval({ client, model: 'judge-m', cache: c1, topLogprobs: 2 }).judge(CRITERIA[0]!, input);
    c1.close();
    const { appendFileSync } = await import('node:fs');
    appendFileSync(path, '{"k":"abc","v":{"sco');
    const c2 = new FileJudgeCache(path);
    expect(c2.size).toBe(2);
    c2.put('k2', { a: 1 });
    c2.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(JSON.parse(lines[2]!)).toEqual({ k: 'k2', v: { a: 1 } });
  });
});
