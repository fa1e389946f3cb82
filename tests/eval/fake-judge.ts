/**
 * Test helpers for the judge: a scripted OpenAI-compatible chat server on 127.0.0.1 (port 0) and
 * a fault-injecting proxy that sits in front of any such server (429s, 5xx, stalls). Both record
 * every request they receive.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RequestKind = 'steps' | 'probe' | 'score' | 'other';

export interface SeenRequest {
  kind: RequestKind;
  body: { model: string; messages: { role: string; content: string }[]; max_tokens: number; temperature: number; logprobs?: boolean; top_logprobs?: number };
  /** The last message's content. */
  content: string;
  answered: boolean;
}

/** A scripted answer: the text, and the first position's alternatives as [token, probability]. */
export interface Scripted {
  content: string;
  top?: [string, number][];
}

export interface FakeOptions {
  /** Honour logprobs requests (default true); false = never return logprobs. */
  logprobs?: boolean;
  /** top_logprobs above this get a 400 (default 20). */
  maxTop?: number;
  /** Delay before each answer in ms (default 0). */
  delayMs?: number;
  /** The answer to a scoring request (default: defaultScore). */
  score?: (content: string) => Scripted;
  /** Answer only this many scoring requests, then stall every later one (a judge that hangs). */
  stallAfter?: number;
}

export interface FakeJudge {
  url: string;
  requests: SeenRequest[];
  /** The most requests in flight at once. */
  maxInFlight: number;
  scoring(): SeenRequest[];
  close(): Promise<void>;
}

/** The text between `<<<` and `>>>` after `label:` in a scoring prompt. */
export function block(content: string, label: string): string | null {
  const at = content.indexOf(`${label}:\n<<<\n`);
  if (at < 0) return null;
  const start = at + label.length + 6;
  return content.slice(start, content.indexOf('\n>>>', start));
}

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/**
 * Default scoring answers. Steering shift: candidate equal to reference B -> "9" (p .8) and "8"
 * (p .2), expectation 8.8; equal to reference A -> "1" (.8), "2" (.2), 1.2; else "5" alone. Other
 * criteria: d = 1 + hash % 9 with "d" .6, the next digit .3 and "x" .1.
 */
export function defaultScore(content: string): Scripted {
  if (content.includes('Reference A:')) {
    const cand = block(content, 'Candidate response');
    if (cand === block(content, 'Reference B')) return { content: '9', top: [['9', 0.8], ['8', 0.2]] };
    if (cand === block(content, 'Reference A')) return { content: '1', top: [['1', 0.8], ['2', 0.2]] };
    return { content: '5', top: [['5', 1]] };
  }
  const d = 1 + (fnv(content) % 9);
  return { content: String(d), top: [[String(d), 0.6], [String((d % 9) + 1), 0.3], ['x', 0.1]] };
}

function kindOf(content: string): RequestKind {
  if (content.includes('numbered evaluation steps')) return 'steps';
  if (content.startsWith('Reply with one digit')) return 'probe';
  if (content.startsWith('Score the response on one criterion')) return 'score';
  return 'other';
}

async function readBody(req: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of req) chunks.push(c as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

async function listen(server: Server): Promise<string> {
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
}

function closer(server: Server): () => Promise<void> {
  return () =>
    new Promise<void>((r) => {
      server.closeAllConnections();
      server.close(() => r());
    });
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

/** Starts the scripted judge server (see the file header). */
export async function startFakeJudge(o: FakeOptions = {}): Promise<FakeJudge> {
  const requests: SeenRequest[] = [];
  let inFlight = 0;
  let scored = 0;
  const fake: FakeJudge = {
    url: '',
    requests,
    maxInFlight: 0,
    scoring: () => requests.filter((r) => r.kind === 'score'),
    close: async () => {},
  };
  const server = createServer(async (req, res) => {
    const text = await readBody(req);
    if (req.method !== 'POST' || !req.url?.endsWith('/chat/completions')) return send(res, 404, { error: { message: `no route ${req.url}` } });
    let body: SeenRequest['body'];
    try {
      body = JSON.parse(text);
    } catch {
      return send(res, 400, { error: { message: 'bad json' } });
    }
    const content = body.messages[body.messages.length - 1]?.content ?? '';
    const seen: SeenRequest = { kind: kindOf(content), body, content, answered: false };
    requests.push(seen);
    if (body.logprobs && (body.top_logprobs ?? 0) > (o.maxTop ?? 20)) return send(res, 400, { error: { message: `top_logprobs must be <= ${o.maxTop ?? 20}` } });
    if (seen.kind === 'score' && o.stallAfter !== undefined && scored >= o.stallAfter) return; // never answers
    if (seen.kind === 'score') scored++;
    inFlight++;
    fake.maxInFlight = Math.max(fake.maxInFlight, inFlight);
    if (o.delayMs) await new Promise((r) => setTimeout(r, o.delayMs));
    inFlight--;
    const s: Scripted = seen.kind === 'steps' ? { content: '1. Read the response.\n2. Compare it with the scale.\n3. Pick the score.' } : seen.kind === 'score' ? (o.score ?? defaultScore)(content) : { content: '5', top: [['5', 0.9], ['4', 0.1]] };
    const withLp = body.logprobs === true && o.logprobs !== false;
    const top = (s.top ?? [[s.content, 1]]).slice(0, body.top_logprobs ?? 0).map(([token, p]) => ({ token, logprob: Math.log(p), bytes: null }));
    const logprobs = withLp ? { content: [{ token: s.content.slice(0, 1), logprob: Math.log(s.top?.[0]?.[1] ?? 1), bytes: null, top_logprobs: top }] } : null;
    seen.answered = true;
    send(res, 200, {
      id: `chatcmpl-${requests.length}`,
      object: 'chat.completion',
      created: 0,
      model: body.model,
      choices: [{ index: 0, message: { role: 'assistant', content: s.content }, logprobs, finish_reason: 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    });
  });
  fake.url = await listen(server);
  fake.close = closer(server);
  return fake;
}

export type Fault = 'ok' | 'stall' | number | { status: number; retryAfter: string };

export interface FaultProxy {
  url: string;
  /** What each request received, in order. */
  log: Fault[];
  close(): Promise<void>;
}

/**
 * A proxy to `upstream` (a base URL ending in /v1) that answers request i with faults[i]: a status
 * code (an OpenAI-style error body), `stall` (holds the connection open, never answers) or `ok`
 * (forwards the request). After the list, `then` applies (default 'ok').
 */
export async function startFaultProxy(upstream: string, faults: Fault[], then: Fault = 'ok'): Promise<FaultProxy> {
  const log: Fault[] = [];
  let i = 0;
  const server = createServer(async (req, res) => {
    const text = await readBody(req);
    const f = i < faults.length ? faults[i]! : then;
    i++;
    log.push(f);
    if (f === 'stall') return;
    if (typeof f === 'number') return send(res, f, { error: { message: `injected ${f}` } });
    if (typeof f === 'object') return send(res, f.status, { error: { message: `injected ${f.status}` } }, { 'retry-after': f.retryAfter });
    const up = await fetch(upstream.replace(/\/v1$/, '') + req.url!, { method: req.method!, headers: { 'content-type': 'application/json' }, body: text });
    res.writeHead(up.status, { 'content-type': up.headers.get('content-type') ?? 'application/json' });
    res.end(await up.text());
  });
  const url = await listen(server);
  return { url, log, close: closer(server) };
}
