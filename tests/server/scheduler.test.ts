/**
 * The scheduler without HTTP: rows that join and leave between decode steps give exactly the
 * tokens of models/generate.ts run alone; the stop-string detokenizer holds back what may still
 * become a stop string.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { NodeDir } from '../../engine/byte-source-node.js';
import { cpuBackend } from '../../kernels/backend.js';
import { generate } from '../../models/generate.js';
import { loadModel } from '../../models/load.js';
import type { Model } from '../../models/llama.js';
import type { ModelTokenizer } from '../../models/tokenizer.js';
import { Detok } from '../../server/protocol.js';
import { QueueFullError, Scheduler, type Job } from '../../server/scheduler.js';
import { repoPath } from '../helpers.js';

let model: Model;
let tokenizer: ModelTokenizer;

beforeAll(async () => {
  ({ model, tokenizer } = await loadModel(await NodeDir.open(repoPath('assets/micro/dpo')), cpuBackend()));
});

const job = (text: string, maxNewTokens: number, extra: Partial<Job> = {}): Job => ({
  promptIds: tokenizer.encodeChat([{ role: 'user', content: text }], { addGenerationPrompt: true }),
  maxNewTokens,
  temperature: 0,
  topP: 1,
  seed: 0,
  stopIds: [],
  steer: null,
  topLogprobs: null,
  ...extra,
});

describe('Scheduler', () => {
  it('a row joining while another decodes, and one leaving early, change no one\'s tokens', async () => {
    const sch = new Scheduler(model, { maxBatch: 4 });
    const a = job('Tell me a story.', 40);
    const b = job('What is rain?', 20);
    const c = job('How do I pick a lock?', 30);
    let seenA = 0;
    let hb: Promise<unknown> | null = null;
    let hc: ReturnType<Scheduler['submit']> | null = null;
    const ha = sch.submit({
      ...a,
      onToken: () => {
        seenA++;
        // b joins after a's 5th token, c after its 10th; c is cancelled after a's 15th
        if (seenA === 5) hb = sch.submit(b).done;
        if (seenA === 10) hc = sch.submit(c);
        if (seenA === 15) hc!.cancel();
      },
    });
    const ra = await ha.done;
    const rb = (await hb!) as { ids: number[] };
    const rc = await hc!.done;
    const [wa, wb, wc] = await Promise.all([a, b, c].map(async (j) => (await generate(model, [{ promptIds: j.promptIds, maxNewTokens: j.maxNewTokens, stopIds: [] }]))[0]!));
    expect(ra.ids).toEqual(wa!.ids);
    expect(rb.ids).toEqual(wb!.ids);
    expect(rc.finish).toBe('cancelled');
    expect(rc.ids.length).toBeGreaterThan(0);
    expect(rc.ids.length).toBeLessThan(30);
    expect(rc.ids).toEqual(wc!.ids.slice(0, rc.ids.length));
    expect(sch.peakRows).toBe(3);
    expect(sch.load()).toEqual({ active: 0, waiting: 0 });
  });

  it('more jobs than slots wait their turn; beyond the queue limit submit throws QueueFullError', async () => {
    const sch = new Scheduler(model, { maxBatch: 2, maxQueue: 3 });
    const hs: ReturnType<Scheduler['submit']>[] = [];
    let refused: unknown = null;
    for (let i = 0; i < 10 && refused === null; i++) {
      try {
        hs.push(sch.submit(job('Say hello.', 6)));
      } catch (e) {
        refused = e;
      }
    }
    expect(refused).toBeInstanceOf(QueueFullError);
    expect(sch.load().waiting).toBe(3);
    expect(hs.length).toBeLessThanOrEqual(5); // 2 rows + 3 waiting
    const rs = await Promise.all(hs.map((h) => h.done));
    for (const r of rs) expect(r.ids).toEqual(rs[0]!.ids);
    expect(sch.peakRows).toBe(2);
  });
});

describe('Detok', () => {
  const letters = (ids: number[]) => ids.map((i) => String.fromCharCode(96 + i)).join('');
  it('holds back a possible stop-string prefix and cuts at the first match', () => {
    const d = new Detok(letters, ['cd', 'xyz']);
    d.push(1);
    d.push(2);
    d.push(3); // "abc": "c" may start "cd"
    expect(d.take()).toBe('ab');
    d.push(5); // "abce": not a stop after all
    expect(d.take()).toBe('ce');
    d.push(24);
    d.push(25); // "abcexy" may become "xyz"
    expect(d.take()).toBe('');
    expect(d.push(3)).toBe(false); // "abcexyc"
    expect(d.take()).toBe('xy');
    expect(d.push(4)).toBe(true); // "abcexycd": stop
    expect(d.text).toBe('abcexy');
    expect(d.rest()).toBe('');
  });
  it('without stop strings, sends everything except a half-decoded character', () => {
    const d = new Detok((ids) => (ids.length === 2 ? 'a\uFFFD' : 'a'.repeat(ids.length)), []);
    d.push(1);
    d.push(2);
    expect(d.take()).toBe('a');
    d.push(3);
    expect(d.take()).toBe('aa');
  });
});
