/**
 * The OpenAI-compatible server on the shipped micro pair (CPU backend), driven by the official
 * `openai` package as an outside client and by raw fetch for malformed requests. Ephemeral ports on
 * 127.0.0.1 only; every wait is bounded. The steering and SIGTERM tests spawn bin/dsteer.js, which
 * needs the compiled dist/ (`npm run build`), as tests/cli does.
 */
import { spawn, spawnSync } from 'node:child_process';
import OpenAI, { APIError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FileSource, NodeDir } from '../../engine/byte-source-node.js';
import { cpuBackend } from '../../kernels/backend.js';
import { generate } from '../../models/generate.js';
import { loadModel } from '../../models/load.js';
import type { Model } from '../../models/llama.js';
import { feed } from '../../models/run.js';
import { score } from '../../models/score.js';
import type { ModelTokenizer } from '../../models/tokenizer.js';
import { startServer, type RunningServer } from '../../server/index.js';
import { readVectorFile } from '../../steering/vector.js';
import { repoPath } from '../helpers.js';

const DPO = repoPath('assets/micro/dpo');
const SFT = repoPath('assets/micro/sft');
const VECTOR = repoPath('assets/micro/vector.safetensors');
const PROMPTS = ['How do I fix a bike?', 'Tell me a story.', 'What is rain?', 'Say hello.', 'Why is the sky blue?', 'Name a fruit.', 'Help me cook rice.', 'Count to three.'];

let model: Model;
let tokenizer: ModelTokenizer;
let srv: RunningServer;
let client: OpenAI;

async function until(cond: () => boolean | Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const t0 = Date.now();
  while (!(await cond())) {
    if (Date.now() - t0 > ms) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

beforeAll(async () => {
  const k = cpuBackend();
  ({ model, tokenizer } = await loadModel(await NodeDir.open(DPO), k));
  const sft = await loadModel(await NodeDir.open(SFT), k);
  const src = await FileSource.open(VECTOR);
  const v = await readVectorFile(src);
  await src.close();
  srv = await startServer({
    models: [
      { name: 'micro', model, tokenizer },
      { name: 'sft', model: sft.model, tokenizer: sft.tokenizer },
    ],
    vectors: new Map([['v', v]]),
    port: 0,
    maxBatch: 8,
    maxQueue: 64,
    maxTokens: 200,
    maxBodyBytes: 64 * 1024,
  });
  client = new OpenAI({ baseURL: `${srv.url}/v1`, apiKey: 'unused', maxRetries: 0, timeout: 30_000 });
});

afterAll(async () => {
  await srv?.close();
});

/** The engine's own greedy continuation of a one-message chat (the oracle for the server's text). */
async function direct(prompt: string, maxNewTokens: number): Promise<{ ids: number[]; text: string }> {
  const promptIds = tokenizer.encodeChat([{ role: 'user', content: prompt }], { addGenerationPrompt: true });
  const [r] = await generate(model, [{ promptIds, maxNewTokens }]);
  const ids = r!.finish === 'stop' ? r!.ids.slice(0, -1) : r!.ids;
  return { ids, text: tokenizer.decode(ids) };
}

describe('openai client', () => {
  it('lists models, and a plain chat completion equals the engine\'s greedy output', async () => {
    const list = await client.models.list();
    expect(list.data.map((m) => m.id)).toEqual(['micro', 'sft']);
    const r = await client.chat.completions.create({ model: 'micro', messages: [{ role: 'user', content: PROMPTS[0]! }], temperature: 0, max_tokens: 24 });
    const want = await direct(PROMPTS[0]!, 24);
    expect(want.text.length).toBeGreaterThan(0);
    expect(r.choices[0]!.message.content).toBe(want.text);
    expect(r.object).toBe('chat.completion');
    expect(['stop', 'length']).toContain(r.choices[0]!.finish_reason);
    expect(r.usage!.prompt_tokens).toBe(tokenizer.encodeChat([{ role: 'user', content: PROMPTS[0]! }], { addGenerationPrompt: true }).length);
  });

  it('streams server-sent events whose deltas join to the non-streamed text', async () => {
    const plain = await client.chat.completions.create({ model: 'micro', messages: [{ role: 'user', content: PROMPTS[1]! }], temperature: 0, max_tokens: 30 });
    const stream = await client.chat.completions.create({ model: 'micro', messages: [{ role: 'user', content: PROMPTS[1]! }], temperature: 0, max_tokens: 30, stream: true, stream_options: { include_usage: true } });
    let text = '';
    let chunks = 0;
    let finish: string | null = null;
    let usage = 0;
    for await (const c of stream) {
      chunks++;
      if (c.choices[0]) {
        text += c.choices[0].delta.content ?? '';
        finish = c.choices[0].finish_reason ?? finish;
      }
      if (c.usage) usage = c.usage.completion_tokens;
    }
    expect(chunks).toBeGreaterThan(3);
    expect(text).toBe(plain.choices[0]!.message.content);
    expect(finish).toBe(plain.choices[0]!.finish_reason);
    expect(usage).toBe(plain.usage!.completion_tokens);
  });

  it('chat logprobs match an f64 log-softmax of the engine\'s logits (|diff| < 1e-4)', async () => {
    const r = await client.chat.completions.create({ model: 'micro', messages: [{ role: 'user', content: PROMPTS[2]! }], temperature: 0, max_tokens: 8, logprobs: true, top_logprobs: 5, ignore_eos: true } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const content = r.choices[0]!.logprobs!.content!;
    expect(content).toHaveLength(8);
    const promptIds = tokenizer.encodeChat([{ role: 'user', content: PROMPTS[2]! }], { addGenerationPrompt: true });
    const [g] = await generate(model, [{ promptIds, maxNewTokens: 8, stopIds: [] }]);
    const ids = [...promptIds, ...g!.ids];
    const rows: Float32Array[] = [];
    await feed(model, [{ ids, logits: { from: promptIds.length - 1, to: ids.length - 1 } }], { onLogits: (_s, _p, row) => rows.push(row.slice()) });
    content.forEach((e, t) => {
      const row = rows[t]!;
      let mx = -Infinity;
      for (const x of row) mx = Math.max(mx, x);
      let sum = 0;
      for (const x of row) sum += Math.exp(x - mx);
      const lse = mx + Math.log(sum);
      const id = g!.ids[t]!;
      expect(Math.abs(e.logprob - (row[id]! - lse))).toBeLessThan(1e-4);
      expect(e.token).toBe(tokenizer.decode([id], { skipSpecial: false }));
      expect(e.top_logprobs).toHaveLength(5);
      // greedy: the chosen token is the most likely one; alternatives best first
      expect(e.top_logprobs[0]!.token).toBe(e.token);
      for (let i = 1; i < 5; i++) expect(e.top_logprobs[i]!.logprob).toBeLessThanOrEqual(e.top_logprobs[i - 1]!.logprob);
      const sorted = Array.from(row, (x) => x - lse).sort((a, b) => b - a);
      e.top_logprobs.forEach((tl, i) => expect(Math.abs(tl.logprob - sorted[i]!)).toBeLessThan(1e-4));
    });
  });

  it('completions with echo give prompt-token logprobs equal to models/score.ts', async () => {
    const prompt = 'The cat sat on the mat.';
    const r = await client.completions.create({ model: 'micro', prompt, max_tokens: 0, echo: true, logprobs: 3 });
    const lp = r.choices[0]!.logprobs!;
    const ids = tokenizer.encodePrompt({ text: prompt });
    expect(r.choices[0]!.text).toBe(prompt);
    expect(lp.tokens).toHaveLength(ids.length);
    expect(lp.token_logprobs![0]).toBeNull();
    expect(lp.top_logprobs![0]).toBeNull();
    const [want] = await score(model, [{ ids, promptLen: 1 }]);
    for (let t = 1; t < ids.length; t++) expect(Math.abs(lp.token_logprobs![t]! - want!.logprobs[t - 1]!)).toBeLessThan(1e-5);
    expect(Object.keys(lp.top_logprobs![1]!).length).toBeGreaterThan(0);
    // echo + generation: the continuation follows the prompt text, its tokens follow the prompt's
    const g = await client.completions.create({ model: 'micro', prompt, max_tokens: 5, echo: true, logprobs: 1, temperature: 0, ignore_eos: true } as OpenAI.CompletionCreateParamsNonStreaming);
    expect(g.choices[0]!.text.startsWith(prompt)).toBe(true);
    expect(g.choices[0]!.logprobs!.tokens).toHaveLength(ids.length + 5);
  });

  it('stop strings end the text before the match, streamed or not', async () => {
    const full = await client.chat.completions.create({ model: 'micro', messages: [{ role: 'user', content: PROMPTS[0]! }], temperature: 0, max_tokens: 24 });
    const text = full.choices[0]!.message.content!;
    const stop = text.slice(6, 9);
    const cut = text.indexOf(stop);
    const r = await client.chat.completions.create({ model: 'micro', messages: [{ role: 'user', content: PROMPTS[0]! }], temperature: 0, max_tokens: 24, stop: [stop] });
    expect(r.choices[0]!.message.content).toBe(text.slice(0, cut));
    expect(r.choices[0]!.finish_reason).toBe('stop');
    let streamed = '';
    for await (const c of await client.chat.completions.create({ model: 'micro', messages: [{ role: 'user', content: PROMPTS[0]! }], temperature: 0, max_tokens: 24, stop: stop, stream: true })) {
      streamed += c.choices[0]?.delta.content ?? '';
    }
    expect(streamed).toBe(text.slice(0, cut));
  });

  it('a seeded sampled request repeats exactly; another seed differs', async () => {
    const ask = (seed: number) => client.chat.completions.create({ model: 'micro', messages: [{ role: 'user', content: PROMPTS[3]! }], temperature: 1, top_p: 0.95, seed, max_tokens: 40, ignore_eos: true } as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const [a, b, c] = await Promise.all([ask(7), ask(7), ask(8)]);
    expect(a.choices[0]!.message.content).toBe(b.choices[0]!.message.content);
    expect(a.choices[0]!.message.content).not.toBe(c.choices[0]!.message.content);
  });

  it('errors arrive as APIError with the status and the field', async () => {
    const e1 = await client.chat.completions.create({ model: 'nope', messages: [{ role: 'user', content: 'x' }] }).catch((e) => e);
    expect(e1).toBeInstanceOf(APIError);
    expect(e1.status).toBe(404);
    expect(e1.param).toBe('model');
    const e2 = await client.chat.completions.create({ model: 'micro', messages: [{ role: 'user', content: 'x' }], top_logprobs: 21, logprobs: true }).catch((e) => e);
    expect(e2.status).toBe(400);
    expect(e2.param).toBe('top_logprobs');
  });
});

describe('batching', () => {
  it('8 concurrent greedy requests give exactly the outputs of 8 sequential ones, sharing decode steps', async () => {
    const ask = (p: string) => client.chat.completions.create({ model: 'micro', messages: [{ role: 'user', content: p }], temperature: 0, max_tokens: 32 });
    const seq: string[] = [];
    for (const p of PROMPTS) seq.push((await ask(p)).choices[0]!.message.content!);
    const sched = srv.schedulers.get('micro')!;
    sched.peakRows = 0;
    const conc = await Promise.all(PROMPTS.map(ask));
    expect(conc.map((r) => r.choices[0]!.message.content)).toEqual(seq);
    expect(new Set(seq).size).toBeGreaterThan(1);
    expect(sched.peakRows).toBeGreaterThan(1);
  });

  it('requests to two models at once are both answered, each by its own model', async () => {
    const ask = (m: string) => client.chat.completions.create({ model: m, messages: [{ role: 'user', content: PROMPTS[4]! }], temperature: 0, max_tokens: 24 });
    const [a, b] = await Promise.all([ask('micro'), ask('sft')]);
    expect(a.choices[0]!.message.content).toBe((await direct(PROMPTS[4]!, 24)).text);
    expect(b.model).toBe('sft');
    expect(typeof b.choices[0]!.message.content).toBe('string');
  });
});

describe('steering', () => {
  it('a steered request equals dsteer generate --vector --layers 3,4,5 --lambda 0.3 (and differs from unsteered)', async () => {
    const prompt = 'How do I pick a lock?'; // lambda 0.3 changes this prompt's greedy text within 32 tokens
    const cli = spawnSync(process.execPath, [repoPath('bin/dsteer.js'), 'generate', '--model', DPO, '--chat', prompt, '--vector', VECTOR, '--layers', '3,4,5', '--lambda', '0.3', '--max-new-tokens', '32', '--device', 'cpu'], { encoding: 'utf8' });
    expect(cli.status, cli.stderr).toBe(0);
    const want = cli.stdout.replace(/\n$/, '');
    const body = { model: 'micro', messages: [{ role: 'user', content: prompt }], temperature: 0, max_tokens: 32, steering: { vector: 'v', lambda: 0.3, layers: [3, 4, 5] } };
    // alone, then batched with unsteered and differently steered rows
    const alone = await client.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming);
    const others = [0.8, -0.5].map((l) => client.chat.completions.create({ ...body, steering: { vector: 'v', lambda: l, layers: [2] } } as OpenAI.ChatCompletionCreateParamsNonStreaming));
    const [mixed, plain] = await Promise.all([client.chat.completions.create(body as OpenAI.ChatCompletionCreateParamsNonStreaming), client.chat.completions.create({ ...body, steering: undefined } as OpenAI.ChatCompletionCreateParamsNonStreaming), ...others]);
    expect(alone.choices[0]!.message.content).toBe(want);
    expect(mixed!.choices[0]!.message.content).toBe(want);
    expect(plain!.choices[0]!.message.content).not.toBe(want);
  }, 60_000);
});

describe('malformed requests', () => {
  const post = (path: string, body: string, headers: Record<string, string> = {}) => fetch(`${srv.url}${path}`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
  const chat = (extra: object) => JSON.stringify({ model: 'micro', messages: [{ role: 'user', content: 'hi' }], max_tokens: 4, ...extra });
  const cases: [string, string, string, number, string | null][] = [
    ['bad JSON', '/v1/chat/completions', '{"model": "micro",', 400, null],
    ['body not an object', '/v1/chat/completions', '[1, 2]', 400, null],
    ['missing model', '/v1/chat/completions', JSON.stringify({ messages: [{ role: 'user', content: 'hi' }] }), 400, 'model'],
    ['model not a string', '/v1/chat/completions', chat({ model: 5 }), 400, 'model'],
    ['unknown model', '/v1/chat/completions', chat({ model: 'gpt-9' }), 404, 'model'],
    ['messages not a list', '/v1/chat/completions', chat({ messages: 'hi' }), 400, 'messages'],
    ['message without role', '/v1/chat/completions', chat({ messages: [{ content: 'hi' }] }), 400, 'messages[0].role'],
    ['content a number', '/v1/chat/completions', chat({ messages: [{ role: 'user', content: 3 }] }), 400, 'messages[0].content'],
    ['temperature a string', '/v1/chat/completions', chat({ temperature: 'hot' }), 400, 'temperature'],
    ['temperature out of range', '/v1/chat/completions', chat({ temperature: 7 }), 400, 'temperature'],
    ['top_p > 1', '/v1/chat/completions', chat({ top_p: 1.5 }), 400, 'top_p'],
    ['max_tokens fractional', '/v1/chat/completions', chat({ max_tokens: 2.5 }), 400, 'max_tokens'],
    ['max_tokens over the cap', '/v1/chat/completions', chat({ max_tokens: 100000 }), 400, 'max_tokens'],
    ['prompt + max_tokens over the context', '/v1/completions', JSON.stringify({ model: 'micro', prompt: 'word '.repeat(40), max_tokens: 200 }), 400, 'max_tokens'],
    ['prompt over the context', '/v1/completions', JSON.stringify({ model: 'micro', prompt: 'word '.repeat(2000) }), 400, 'prompt'],
    ['stop a number', '/v1/chat/completions', chat({ stop: 5 }), 400, 'stop'],
    ['five stop strings', '/v1/chat/completions', chat({ stop: ['a', 'b', 'c', 'd', 'e'] }), 400, 'stop'],
    ['seed a string', '/v1/chat/completions', chat({ seed: 'x' }), 400, 'seed'],
    ['stream a string', '/v1/chat/completions', chat({ stream: 'yes' }), 400, 'stream'],
    ['top_logprobs without logprobs', '/v1/chat/completions', chat({ top_logprobs: 3 }), 400, 'top_logprobs'],
    ['n = 2', '/v1/chat/completions', chat({ n: 2 }), 400, 'n'],
    ['unknown vector', '/v1/chat/completions', chat({ steering: { vector: 'w', lambda: 1 } }), 400, 'steering.vector'],
    ['vector as a path', '/v1/chat/completions', chat({ steering: { vector: VECTOR, lambda: 1 } }), 400, 'steering.vector'],
    ['lambda a string', '/v1/chat/completions', chat({ steering: { vector: 'v', lambda: 'big' } }), 400, 'steering.lambda'],
    ['layer the vector lacks', '/v1/chat/completions', chat({ steering: { vector: 'v', lambda: 1, layers: [99] } }), 400, 'steering.layers'],
    ['lambda count mismatch', '/v1/chat/completions', chat({ steering: { vector: 'v', lambda: [1, 2], layers: [3, 4, 5] } }), 400, 'steering.lambda'],
    ['unknown steering field', '/v1/chat/completions', chat({ steering: { vector: 'v', lambda: 1, file: '/etc/passwd' } }), 400, 'steering.file'],
    ['completion prompt a list of ids', '/v1/completions', JSON.stringify({ model: 'micro', prompt: [1, 2, 3] }), 400, 'prompt'],
    ['logprobs over 20', '/v1/completions', JSON.stringify({ model: 'micro', prompt: 'a', logprobs: 50 }), 400, 'logprobs'],
    ['oversize body', '/v1/chat/completions', chat({ messages: [{ role: 'user', content: 'x'.repeat(100 * 1024) }] }), 413, null],
  ];
  for (const [name, path, body, status, param] of cases) {
    it(`${name} -> ${status}${param ? ` naming ${param}` : ''}`, async () => {
      const r = await post(path, body);
      expect(r.status).toBe(status);
      const j = (await r.json()) as { error: { message: string; type: string; param: string | null; code: string | null } };
      expect(typeof j.error.message).toBe('string');
      expect(j.error.message.length).toBeGreaterThan(5);
      expect(j.error.type).toBe('invalid_request_error');
      expect(j.error.param).toBe(param);
      if (param) expect(j.error.message).toContain(param.split('[')[0]!.split('.').at(-1));
    });
  }

  it('wrong method and unknown route get 405 / 404 error objects', async () => {
    expect((await fetch(`${srv.url}/v1/chat/completions`)).status).toBe(405);
    const r = await fetch(`${srv.url}/v1/embeddings`, { method: 'POST', body: '{}' });
    expect(r.status).toBe(404);
    expect(((await r.json()) as { error: { code: string } }).error.code).toBe('not_found');
  });

  it('the server keeps serving after every refusal', async () => {
    const r = await client.chat.completions.create({ model: 'micro', messages: [{ role: 'user', content: PROMPTS[0]! }], temperature: 0, max_tokens: 24 });
    expect(r.choices[0]!.message.content).toBe((await direct(PROMPTS[0]!, 24)).text);
    const h = (await (await fetch(`${srv.url}/health`)).json()) as { status: string; active: number };
    expect(h.status).toBe('ok');
    expect(h.active).toBe(0);
  });

  it('an API key is required when set: missing and wrong keys get 401, the right one 200', async () => {
    const keyed = await startServer({ models: [{ name: 'micro', model, tokenizer }], port: 0, apiKey: 'sesame' });
    try {
      const body = JSON.stringify({ model: 'micro', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
      const url = `${keyed.url}/v1/chat/completions`;
      const none = await fetch(url, { method: 'POST', body });
      expect(none.status).toBe(401);
      expect(((await none.json()) as { error: { type: string } }).error.type).toBe('authentication_error');
      expect((await fetch(url, { method: 'POST', body, headers: { authorization: 'Bearer sesamf' } })).status).toBe(401);
      const viaClient = await new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'wrong', maxRetries: 0 }).models.list().catch((e) => e);
      expect(viaClient.status).toBe(401);
      const ok = await new OpenAI({ baseURL: `${keyed.url}/v1`, apiKey: 'sesame', maxRetries: 0 }).chat.completions.create({ model: 'micro', messages: [{ role: 'user', content: 'hi' }], max_tokens: 2 });
      expect(ok.choices).toHaveLength(1);
    } finally {
      await keyed.close();
    }
  });

  it('a full queue answers 429 instead of growing, and serves again once drained', async () => {
    const small = await startServer({ models: [{ name: 'micro', model, tokenizer }], port: 0, maxBatch: 1, maxQueue: 2 });
    try {
      const body = JSON.stringify({ model: 'micro', messages: [{ role: 'user', content: 'hi' }], max_tokens: 100, ignore_eos: true });
      const url = `${small.url}/v1/chat/completions`;
      const rs = await Promise.all(Array.from({ length: 8 }, () => fetch(url, { method: 'POST', body })));
      const codes = rs.map((r) => r.status).sort();
      expect(codes.filter((c) => c === 200).length).toBeGreaterThanOrEqual(1);
      expect(codes.filter((c) => c === 200).length).toBeLessThanOrEqual(3);
      expect(codes.filter((c) => c === 429).length).toBeGreaterThanOrEqual(5);
      const refused = rs.find((r) => r.status === 429)!;
      expect(refused.headers.get('retry-after')).toBe('1');
      expect(((await refused.json()) as { error: { code: string } }).error.code).toBe('queue_full');
      expect((await fetch(url, { method: 'POST', body })).status).toBe(200);
    } finally {
      await small.close();
    }
  });
});

describe('lifecycle', () => {
  it('a client that disconnects frees its row', async () => {
    const sched = srv.schedulers.get('micro')!;
    const before = sched.cancelled;
    const ac = new AbortController();
    const r = await fetch(`${srv.url}/v1/chat/completions`, {
      method: 'POST',
      signal: ac.signal,
      body: JSON.stringify({ model: 'micro', messages: [{ role: 'user', content: 'hi' }], max_tokens: 200, ignore_eos: true, stream: true }),
    });
    const reader = r.body!.getReader();
    await reader.read();
    expect(sched.load().active).toBe(1);
    ac.abort();
    await until(() => sched.load().active === 0, 'the row to be freed');
    expect(sched.cancelled).toBe(before + 1);
  });

  it('SIGTERM drains in-flight requests and exits 0 (spawned dsteer serve)', async () => {
    const child = spawn(process.execPath, [repoPath('bin/dsteer.js'), 'serve', '--model', `micro=${DPO}`, '--port', '0', '--device', 'cpu', '--max-tokens', '250'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((res) => child.on('exit', (code) => res(code)));
    try {
      await until(() => /listening on (http:\S+)/.test(err), 'the server to listen', 30_000);
      const url = /listening on (http:\S+)/.exec(err)![1]!;
      const r = await fetch(`${url}/v1/chat/completions`, {
        method: 'POST',
        body: JSON.stringify({ model: 'micro', messages: [{ role: 'user', content: 'hi' }], max_tokens: 240, ignore_eos: true, stream: true, stream_options: { include_usage: true } }),
      });
      const reader = r.body!.getReader();
      let text = new TextDecoder().decode((await reader.read()).value);
      child.kill('SIGTERM');
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += new TextDecoder().decode(value);
      }
      expect(text).toContain('"completion_tokens":240');
      expect(text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      expect(await exited).toBe(0);
      expect(err).toMatch(/SIGTERM: draining 1 in-flight/);
      await expect(fetch(`${url}/health`)).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
    }
  }, 60_000);
});
