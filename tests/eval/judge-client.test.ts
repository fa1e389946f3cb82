/**
 * The OpenAI-compatible judge client (eval/judge/client.ts) against a scripted server on
 * 127.0.0.1 and a fault-injecting proxy: request shape, retries with backoff on 429/5xx, the
 * per-call timeout on a stalled call, no retry on other 4xx, the concurrency limit, round robin
 * (and failover) over two endpoints, and the top_logprobs probe.
 */
import { createServer } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DsteerError } from '../../engine/errors.js';
import { JudgeClient, JudgeHttpError, parseJudgeEndpoints } from '../../eval/judge/client.js';
import { startFakeJudge, startFaultProxy, type FakeJudge, type FaultProxy } from './fake-judge.js';

const open: { close(): Promise<void> }[] = [];
async function fake(o?: Parameters<typeof startFakeJudge>[0]): Promise<FakeJudge> {
  const f = await startFakeJudge(o);
  open.push(f);
  return f;
}
async function proxy(...a: Parameters<typeof startFaultProxy>): Promise<FaultProxy> {
  const p = await startFaultProxy(...a);
  open.push(p);
  return p;
}
afterEach(async () => {
  await Promise.all(open.splice(0).map((s) => s.close()));
});

const ask = (content = 'Score the response on one criterion. x') => ({ messages: [{ role: 'user' as const, content }], maxTokens: 4, topLogprobs: 5 });

describe('JudgeClient', () => {
  it('sends an OpenAI chat request and reads the text and the top logprobs', async () => {
    const s = await fake({ score: () => ({ content: '7', top: [['7', 0.5], ['8', 0.25], ['x', 0.25]] }) });
    const c = new JudgeClient({ endpoints: [s.url + '/'], model: 'judge-m' });
    const a = await c.chat(ask());
    expect(a.text).toBe('7');
    expect(a.endpoint).toBe(s.url);
    expect(a.tokens![0]!.top.map((t) => [t.token, Math.exp(t.logprob)])).toEqual([['7', 0.5], ['8', 0.25], ['x', 0.25]].map(([t, p]) => [t, expect.closeTo(p as number, 12)]));
    const body = s.requests[0]!.body;
    expect(body).toMatchObject({ model: 'judge-m', max_tokens: 4, temperature: 0, logprobs: true, top_logprobs: 5 });
    // without topLogprobs, no logprobs fields at all
    await c.chat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 1 });
    expect('logprobs' in s.requests[1]!.body).toBe(false);
  });

  it('retries 429 and 5xx with exponential backoff, honouring Retry-After up to the cap', async () => {
    const s = await fake();
    const p = await proxy(s.url, [429, 500, 503]);
    const c = new JudgeClient({ endpoints: [p.url], model: 'm', backoffMs: 40 });
    const t0 = performance.now();
    const a = await c.chat(ask());
    const ms = performance.now() - t0;
    expect(a.text).toMatch(/^[1-9]$/);
    expect(p.log).toEqual([429, 500, 503, 'ok']);
    expect(c.stats).toMatchObject({ requests: 4, retries: 3 });
    expect(ms).toBeGreaterThanOrEqual(40 + 80 + 160 - 5); // 5 ms timer slack
    const p2 = await proxy(s.url, [{ status: 429, retryAfter: '5' }]);
    const c2 = new JudgeClient({ endpoints: [p2.url], model: 'm', backoffMs: 1, maxBackoffMs: 300 });
    const t1 = performance.now();
    await c2.chat(ask());
    const ms2 = performance.now() - t1;
    expect(ms2).toBeGreaterThanOrEqual(295);
    expect(ms2).toBeLessThan(2000); // 5 s asked, capped at 300 ms
  });

  it('times out a stalled call and retries it; gives up after the last retry naming the cause', async () => {
    const s = await fake();
    const p = await proxy(s.url, ['stall', 'stall']);
    const c = new JudgeClient({ endpoints: [p.url], model: 'm', timeoutMs: 150, backoffMs: 1 });
    const t0 = performance.now();
    await c.chat(ask());
    expect(performance.now() - t0).toBeGreaterThanOrEqual(2 * 150 - 5);
    expect(p.log).toEqual(['stall', 'stall', 'ok']);
    const dead = await proxy(s.url, [], 'stall');
    const c2 = new JudgeClient({ endpoints: [dead.url], model: 'm', timeoutMs: 100, retries: 2, backoffMs: 1 });
    const err = await c2.chat(ask()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(DsteerError);
    expect((err as Error).message).toMatch(/no answer within 100 ms \(gave up after 3 attempts/);
    expect(dead.log).toHaveLength(3);
  });

  it('retries a refused connection, and does not retry other 4xx', async () => {
    const port = await new Promise<number>((r) => {
      const srv = createServer();
      srv.listen(0, '127.0.0.1', () => {
        const p = (srv.address() as { port: number }).port;
        srv.close(() => r(p));
      });
    });
    const c = new JudgeClient({ endpoints: [`http://127.0.0.1:${port}/v1`], model: 'm', retries: 1, backoffMs: 1 });
    await expect(c.chat(ask())).rejects.toThrow(/network error .*gave up after 2 attempts/);
    expect(c.stats.requests).toBe(2);
    const s = await fake();
    const p = await proxy(s.url, [400]);
    const c2 = new JudgeClient({ endpoints: [p.url], model: 'm', backoffMs: 1 });
    const err = await c2.chat(ask()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(JudgeHttpError);
    expect((err as JudgeHttpError).status).toBe(400);
    expect((err as Error).message).toMatch(/HTTP 400: injected 400/);
    expect(p.log).toEqual([400]);
  });

  it('keeps at most `concurrency` requests in flight', async () => {
    const s = await fake({ delayMs: 40 });
    const c = new JudgeClient({ endpoints: [s.url], model: 'm', concurrency: 4 });
    const answers = await Promise.all(Array.from({ length: 20 }, (_, i) => c.chat(ask(`Score the response on one criterion. ${i}`))));
    expect(answers).toHaveLength(20);
    expect(s.maxInFlight).toBe(4);
    const c2 = new JudgeClient({ endpoints: [s.url], model: 'm', concurrency: 16 });
    s.maxInFlight = 0;
    await Promise.all(Array.from({ length: 20 }, () => c2.chat(ask())));
    expect(s.maxInFlight).toBe(16);
  });

  it('round-robins over two endpoints, and a failing endpoint hands its retries to the other', async () => {
    const a = await fake();
    const b = await fake();
    const c = new JudgeClient({ endpoints: [a.url, b.url], model: 'm' });
    await Promise.all(Array.from({ length: 10 }, () => c.chat(ask())));
    expect([a.requests.length, b.requests.length]).toEqual([5, 5]);
    expect(c.stats.answered).toEqual({ [a.url]: 5, [b.url]: 5 });
    const broken = await proxy(a.url, [], 500);
    const c2 = new JudgeClient({ endpoints: [broken.url, b.url], model: 'm', backoffMs: 1, concurrency: 1 });
    for (let i = 0; i < 6; i++) await c2.chat(ask());
    expect(c2.stats.answered).toEqual({ [b.url]: 6 });
    expect(c2.stats.retries).toBe(broken.log.length);
    expect(broken.log.length).toBeGreaterThan(0);
  });

  it('probes how many top_logprobs each endpoint returns (20, then 5, then none; the minimum rules)', async () => {
    const full = await fake();
    const five = await fake({ maxTop: 5 });
    const none = await fake({ logprobs: false });
    expect(await new JudgeClient({ endpoints: [full.url], model: 'm' }).probe()).toEqual({ topLogprobs: 20, endpoints: [{ url: full.url, topLogprobs: 20 }] });
    const cap = await new JudgeClient({ endpoints: [five.url, none.url], model: 'm' }).probe();
    expect(cap.endpoints).toEqual([{ url: five.url, topLogprobs: 5 }, { url: none.url, topLogprobs: 0 }]);
    expect(cap.topLogprobs).toBe(0);
    expect(five.requests.map((r) => r.body.top_logprobs)).toEqual([20, 5]);
  });

  it('parses --judge endpoint lists and refuses non-URLs in one line', () => {
    expect(parseJudgeEndpoints('http://gpu1:8000/v1,http://gpu2:8000/v1/')).toEqual(['http://gpu1:8000/v1', 'http://gpu2:8000/v1']);
    expect(() => parseJudgeEndpoints('gpu1:8000')).toThrow(/--judge: "gpu1:8000" is not (a URL|http or https)/);
    expect(() => parseJudgeEndpoints('ftp://x/v1')).toThrow(/not http or https/);
    expect(() => parseJudgeEndpoints(',')).toThrow(/no endpoint given/);
  });
});
