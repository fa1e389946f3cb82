/**
 * The OpenAI-compatible HTTP server (node:http, no framework: five routes and server-sent events
 * need nothing more). Each model gets one Scheduler (server/scheduler.ts); concurrent requests are
 * rows of its decode batches. Requests never name files: steering names a vector registered at
 * startup. Every refusal is an OpenAI-style error object with a 4xx/5xx status naming the field.
 */
import { randomBytes, randomInt, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { DsteerError } from '../engine/errors.js';
import type { SeqSteer } from '../models/batch.js';
import type { SteeringSetup } from '../models/generate.js';
import type { Model } from '../models/llama.js';
import type { ModelTokenizer } from '../models/tokenizer.js';
import { selectLayers, validateVectors, type SteeringVectors } from '../steering/vector.js';
import {
  ApiError,
  Detok,
  parseChatRequest,
  parseCompletionRequest,
  tokenEntry,
  type ChatLogprob,
  type ChatRequest,
  type CompletionRequest,
  type LegacyLogprobs,
  type SamplingRequest,
} from './protocol.js';
import { QueueFullError, Scheduler, type JobResult, type TokenEvent, type TokenLogprob } from './scheduler.js';

/** A model the server hosts, under the name requests use. */
export interface ServedModel {
  name: string;
  model: Model;
  tokenizer: ModelTokenizer;
}

export interface ServerOptions {
  models: ServedModel[];
  /** Steering vectors requests may name (registered with --vector NAME=FILE). */
  vectors?: Map<string, SteeringVectors>;
  /** Default 127.0.0.1 (loopback only). */
  host?: string;
  /** Default 8000; 0 = an ephemeral port. */
  port?: number;
  /** When set, /v1/* needs `Authorization: Bearer KEY`. */
  apiKey?: string | null;
  /** Largest request body (default 1 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** Requests waiting for a row per model (default 64); a full queue answers 429. */
  maxQueue?: number;
  /** Rows decoding at once per model (KV slots; default 16). */
  maxBatch?: number;
  /** Most tokens one request may generate (default 1024). */
  maxTokens?: number;
  /** Longest sequence (prompt + generated) per row (default: the model's context, at most 4096). */
  context?: number;
  /** One line per event worth a note (start, refusals of 5xx kind). */
  log?: (line: string) => void;
}

export interface RunningServer {
  /** e.g. http://127.0.0.1:8000 */
  url: string;
  port: number;
  host: string;
  schedulers: Map<string, Scheduler>;
  /** Requests being answered now. */
  inFlight(): number;
  /** Stops accepting, lets in-flight requests finish, then closes. */
  close(): Promise<void>;
}

interface VectorEntry {
  sv: SteeringVectors;
  index: number;
}

interface Hosted {
  served: ServedModel;
  sched: Scheduler;
  /** Vectors that fit this model, with their index in the stacked setup. */
  vectors: Map<string, VectorEntry | string>;
  siteIndex: Map<string, number>;
  nSites: number;
}

/** Stacks every vector that fits the model: sites = the union of their hook names; zeros where a vector has none. */
function stackVectors(m: Model, vectors: Map<string, SteeringVectors>): { setup: SteeringSetup | null; table: Map<string, VectorEntry | string>; siteIndex: Map<string, number> } {
  const table = new Map<string, VectorEntry | string>();
  const siteIndex = new Map<string, number>();
  const fit: [string, SteeringVectors][] = [];
  for (const [name, sv] of vectors) {
    try {
      validateVectors(sv, m.cfg);
      fit.push([name, sv]);
    } catch (e) {
      table.set(name, `vector "${name}" does not fit model ${m.name}: ${(e as Error).message}`);
    }
  }
  for (const [, sv] of fit) for (const h of sv.vectors.keys()) if (!siteIndex.has(h)) siteIndex.set(h, siteIndex.size);
  if (fit.length === 0 || siteIndex.size === 0) return { setup: null, table, siteIndex };
  const nSites = siteIndex.size;
  const dim = m.cfg.dim;
  const stacked = new Float32Array(fit.length * nSites * dim);
  fit.forEach(([name, sv], v) => {
    table.set(name, { sv, index: v });
    for (const [h, vec] of sv.vectors) stacked.set(vec, (v * nSites + siteIndex.get(h)!) * dim);
  });
  return { setup: { sites: [...siteIndex.keys()], vectors: stacked, preserveNorm: false }, table, siteIndex };
}

/**
 * The end of a server-sent-event stream: waits for the job, then sends the closing events and
 * `[DONE]`; a failed job sends an error event; a cancelled one (the client left) sends nothing.
 */
async function endStream(res: ServerResponse, send: (d: unknown) => void, done: Promise<JobResult>, closing: (out: JobResult) => unknown[]): Promise<void> {
  let out: JobResult;
  try {
    out = await done;
  } catch (e) {
    send({ error: asApiError(e, null).body().error });
    res.end();
    return;
  }
  if (out.finish === 'cancelled') return;
  for (const d of closing(out)) send(d);
  send('[DONE]');
  res.end();
}

function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.end();
    return;
  }
  const text = JSON.stringify(body);
  res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), ...headers });
  res.end(text);
}

function sendError(res: ServerResponse, e: ApiError): void {
  const headers: Record<string, string> = e.status === 429 ? { 'retry-after': '1' } : {};
  if (e.status === 401) headers['www-authenticate'] = 'Bearer';
  sendJson(res, e.status, e.body(), headers);
}

/** Reads the body up to `limit` bytes; a larger one is refused as soon as it is seen (413). */
function readBody(req: IncomingMessage, limit: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length']);
    if (Number.isFinite(declared) && declared > limit) {
      reject(new ApiError(413, `the request body of ${declared} bytes exceeds the limit of ${limit} bytes`, null, 'request_too_large'));
      req.resume();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(new ApiError(413, `the request body exceeds the limit of ${limit} bytes`, null, 'request_too_large'));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(Buffer.concat(chunks).toString('utf8'));
    });
    req.on('error', (e) => {
      if (!failed) reject(e);
    });
  });
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new ApiError(400, `the request body is not valid JSON (${(e as Error).message})`, null, 'invalid_json');
  }
}

/** Engine and tokenizer errors a request caused (a template that raises, ids out of range) are its fault: 400. */
function asApiError(e: unknown, param: string | null): ApiError {
  if (e instanceof ApiError) return e;
  if (e instanceof QueueFullError) return new ApiError(429, e.message, null, 'queue_full');
  if (e instanceof DsteerError) return new ApiError(400, e.message, param, 'invalid_value');
  return new ApiError(500, `internal error: ${(e as Error).message ?? String(e)}`, null, 'internal_error');
}

/**
 * Starts the server; resolves once it listens.
 * @example
 * const srv = await startServer({ models: [{ name: 'm', model, tokenizer }], port: 0 });
 * const r = await fetch(`${srv.url}/v1/models`);
 * assert((await r.json()).data[0].id === 'm');
 * await srv.close();
 */
export async function startServer(opts: ServerOptions): Promise<RunningServer> {
  if (opts.models.length === 0) throw new DsteerError('the server needs at least one model (--model NAME=DIR)', 2);
  const hosted = new Map<string, Hosted>();
  for (const served of opts.models) {
    if (hosted.has(served.name)) throw new DsteerError(`--model: the name "${served.name}" is given twice`, 2);
    const { setup, table, siteIndex } = stackVectors(served.model, opts.vectors ?? new Map());
    const context = Math.min(served.model.cfg.maxContext, opts.context ?? 4096);
    const sched = new Scheduler(served.model, { maxBatch: opts.maxBatch ?? 16, maxSeq: context, maxQueue: opts.maxQueue ?? 64, ...(setup ? { steering: setup } : {}) });
    hosted.set(served.name, { served, sched, vectors: table, siteIndex, nSites: siteIndex.size });
  }
  const maxBody = opts.maxBodyBytes ?? 1 << 20;
  const maxTokensCap = opts.maxTokens ?? 1024;
  const key = opts.apiKey ? Buffer.from(opts.apiKey) : null;
  const created = Math.floor(Date.now() / 1000);
  const idPrefix = randomBytes(4).toString('hex');
  let counter = 0;
  let inFlight = 0;
  let draining = false;
  let drained: (() => void) | null = null;

  const authorized = (req: IncomingMessage): boolean => {
    if (!key) return true;
    const h = req.headers['authorization'] ?? '';
    const m = /^Bearer (.+)$/.exec(h);
    if (!m) return false;
    const given = Buffer.from(m[1]!);
    return given.length === key.length && timingSafeEqual(given, key);
  };

  const modelOf = (name: string): Hosted => {
    const h = hosted.get(name);
    if (!h) throw new ApiError(404, `the model "${name}" does not exist; this server hosts ${[...hosted.keys()].join(', ')}`, 'model', 'model_not_found');
    return h;
  };

  const steerOf = (h: Hosted, r: SamplingRequest, promptLen: number): SeqSteer | null => {
    const st = r.steering;
    if (!st) return null;
    const entry = h.vectors.get(st.vector);
    if (entry === undefined) {
      const names = [...h.vectors.keys()];
      throw new ApiError(400, `steering vector "${st.vector}" is not registered; ${names.length ? `registered: ${names.join(', ')}` : 'the server was started without --vector'}`, 'steering.vector', 'vector_not_found');
    }
    if (typeof entry === 'string') throw new ApiError(400, entry, 'steering.vector', 'vector_mismatch');
    let sites: string[];
    try {
      sites = selectLayers(entry.sv, st.layers);
    } catch (e) {
      throw new ApiError(400, (e as Error).message.replace(/^--layers/, 'steering.layers'), 'steering.layers', 'invalid_value');
    }
    if (st.lambda.length !== 1 && st.lambda.length !== sites.length) {
      throw new ApiError(400, `"steering.lambda": ${st.lambda.length} values given for ${sites.length} steered layers (give one value, or one per layer)`, 'steering.lambda', 'invalid_value');
    }
    const alpha = new Float32Array(h.nSites);
    sites.forEach((s, j) => (alpha[h.siteIndex.get(s)!] = st.lambda[st.lambda.length === 1 ? 0 : j]!));
    return { alpha, vec: entry.index, from: st.positions === 'generated' ? promptLen : 0 };
  };

  /** Checks lengths and picks max_tokens; `dflt` is the endpoint's default when the request gives none. */
  const budget = (h: Hosted, r: SamplingRequest, promptLen: number, dflt: number | null, promptParam: string): number => {
    const ctx = h.sched.maxSeq;
    if (promptLen >= ctx) throw new ApiError(400, `the prompt has ${promptLen} tokens; this server's context for ${h.served.name} is ${ctx} tokens (prompt + completion)`, promptParam, 'context_length_exceeded');
    if (r.maxTokens !== null && r.maxTokens > maxTokensCap) throw new ApiError(400, `"max_tokens" is ${r.maxTokens}; this server allows at most ${maxTokensCap}`, 'max_tokens', 'invalid_value');
    if (r.maxTokens !== null && promptLen + r.maxTokens > ctx) {
      throw new ApiError(400, `${promptLen} prompt tokens + "max_tokens" ${r.maxTokens} exceed this server's context of ${ctx} tokens for ${h.served.name}`, 'max_tokens', 'context_length_exceeded');
    }
    return r.maxTokens ?? Math.min(dflt ?? maxTokensCap, maxTokensCap, ctx - promptLen);
  };

  /** Runs one generation: streams through `emit` and resolves with the result; the client leaving cancels the row. */
  const run = (
    h: Hosted,
    res: ServerResponse,
    r: SamplingRequest,
    promptIds: number[],
    maxTokens: number,
    topLogprobs: number | null,
    steer: SeqSteer | null,
    onTok: (ev: TokenEvent, detok: Detok) => void,
  ): { done: Promise<JobResult>; detok: Detok } => {
    const tok = h.served.tokenizer;
    const stopIds = r.ignoreEos ? [] : h.served.model.cfg.eosTokenIds;
    const detok = new Detok((ids) => tok.decode(ids), r.stop);
    const handle = h.sched.submit({
      promptIds,
      maxNewTokens: maxTokens,
      temperature: r.temperature,
      topP: r.topP,
      seed: r.seed ?? randomInt(2 ** 31),
      stopIds,
      steer,
      topLogprobs,
      onToken: (ev) => {
        if (stopIds.includes(ev.id)) return false;
        const hit = detok.push(ev.id);
        onTok(ev, detok);
        return hit;
      },
    });
    res.on('close', () => handle.cancel()); // no-op once the job has finished
    return { done: handle.done, detok };
  };

  const tokStr = (h: Hosted, id: number): string => h.served.tokenizer.decode([id], { skipSpecial: false });
  const chatLp = (h: Hosted, ev: TokenEvent): ChatLogprob => ({
    ...tokenEntry(tokStr(h, ev.id), ev.logprob!),
    top_logprobs: (ev.top ?? []).map((t) => tokenEntry(tokStr(h, t.id), t.logprob)),
  });
  const usage = (p: number, c: number) => ({ prompt_tokens: p, completion_tokens: c, total_tokens: p + c });
  const finishReason = (r: JobResult): string => (r.finish === 'length' ? 'length' : 'stop');

  const startSse = (res: ServerResponse): ((data: unknown) => void) => {
    res.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', connection: 'keep-alive' });
    return (data) => {
      if (!res.writableEnded) res.write(`data: ${typeof data === 'string' ? data : JSON.stringify(data)}\n\n`);
    };
  };

  const chat = async (res: ServerResponse, body: unknown): Promise<void> => {
    const r: ChatRequest = parseChatRequest(body);
    const h = modelOf(r.model);
    const tok = h.served.tokenizer;
    if (!tok.hasChatTemplate) throw new ApiError(400, `the model "${r.model}" has no chat template; use /v1/completions with a prompt`, 'messages', 'no_chat_template');
    let promptIds: number[];
    try {
      promptIds = tok.encodeChat(r.messages, { addGenerationPrompt: true });
    } catch (e) {
      throw asApiError(e, 'messages');
    }
    const maxTokens = budget(h, r, promptIds.length, null, 'messages');
    const steer = steerOf(h, r, promptIds.length);
    const id = `chatcmpl-${idPrefix}${(counter++).toString(16)}`;
    const now = Math.floor(Date.now() / 1000);
    const base = { id, created: now, model: r.model };
    const lps: ChatLogprob[] = [];
    if (!r.stream) {
      const { done, detok } = run(h, res, r, promptIds, maxTokens, r.topLogprobs, steer, (ev) => {
        if (r.topLogprobs !== null) lps.push(chatLp(h, ev));
      });
      const out = await done;
      if (out.finish === 'cancelled') return;
      sendJson(res, 200, {
        ...base,
        object: 'chat.completion',
        choices: [{ index: 0, message: { role: 'assistant', content: detok.text }, logprobs: r.topLogprobs !== null ? { content: lps } : null, finish_reason: finishReason(out) }],
        usage: usage(promptIds.length, out.ids.length),
      });
      return;
    }
    let send: ((d: unknown) => void) | null = null;
    const chunk = (delta: object, logprobs: ChatLogprob[] | null, finish: string | null) => ({
      ...base,
      object: 'chat.completion.chunk',
      choices: [{ index: 0, delta, logprobs: logprobs ? { content: logprobs } : null, finish_reason: finish }],
    });
    const { done, detok } = run(h, res, r, promptIds, maxTokens, r.topLogprobs, steer, (ev, d) => {
      if (r.topLogprobs !== null) lps.push(chatLp(h, ev));
      const text = d.take();
      if (text !== '' || lps.length > 0) send!(chunk({ content: text }, r.topLogprobs !== null ? lps.splice(0) : null, null));
    });
    send = startSse(res);
    send(chunk({ role: 'assistant', content: '' }, null, null));
    await endStream(res, send, done, (out) => [
      chunk({ content: detok.rest() }, r.topLogprobs !== null ? lps.splice(0) : null, finishReason(out)),
      ...(r.includeUsage ? [{ ...base, object: 'chat.completion.chunk', choices: [], usage: usage(promptIds.length, out.ids.length) }] : []),
    ]);
  };

  const legacy = (h: Hosted, entries: { id: number; logprob: number | null; top: TokenLogprob[] | null }[], offset0: number): LegacyLogprobs => {
    const lp: LegacyLogprobs = { tokens: [], token_logprobs: [], top_logprobs: [], text_offset: [] };
    let off = offset0;
    for (const e of entries) {
      const s = tokStr(h, e.id);
      lp.tokens.push(s);
      lp.token_logprobs.push(e.logprob);
      lp.top_logprobs.push(e.top ? Object.fromEntries(e.top.map((t) => [tokStr(h, t.id), t.logprob])) : null);
      lp.text_offset.push(off);
      off += s.length;
    }
    return lp;
  };

  const completion = async (res: ServerResponse, body: unknown): Promise<void> => {
    const r: CompletionRequest = parseCompletionRequest(body);
    const h = modelOf(r.model);
    const promptIds = h.served.tokenizer.encodePrompt({ text: r.prompt });
    if (promptIds.length === 0) throw new ApiError(400, '"prompt" encodes to no tokens; give a non-empty prompt', 'prompt', 'invalid_value');
    const maxTokens = budget(h, r, promptIds.length, 16, 'prompt');
    const steer = steerOf(h, r, promptIds.length);
    const id = `cmpl-${idPrefix}${(counter++).toString(16)}`;
    const base = { id, object: 'text_completion', created: Math.floor(Date.now() / 1000), model: r.model };
    const k = r.logprobs;
    // prompt-token logprobs first (echo): the same scheduler, between decode steps
    const promptEntries = r.echo && k !== null ? (await h.sched.promptLogprobs(promptIds, k, steer)).map((p, i) => ({ id: promptIds[i]!, logprob: p?.logprob ?? null, top: p ? p.top : null })) : [];
    const gen: { id: number; logprob: number | null; top: TokenLogprob[] | null }[] = [];
    const echoText = r.echo ? r.prompt : '';
    if (!r.stream) {
      const { done, detok } = run(h, res, r, promptIds, maxTokens, k, steer, (ev) => {
        if (k !== null) gen.push({ id: ev.id, logprob: ev.logprob!, top: ev.top! });
      });
      const out = await done;
      if (out.finish === 'cancelled') return;
      const logprobs = k === null ? null : legacy(h, [...promptEntries, ...gen], r.echo ? 0 : r.prompt.length);
      sendJson(res, 200, { ...base, choices: [{ index: 0, text: echoText + detok.text, logprobs, finish_reason: finishReason(out) }], usage: usage(promptIds.length, out.ids.length) });
      return;
    }
    let send: ((d: unknown) => void) | null = null;
    let offset = r.echo ? 0 : r.prompt.length;
    const piece = (text: string, entries: typeof gen, finish: string | null) => {
      const logprobs = k === null ? null : legacy(h, entries, offset);
      if (logprobs) offset = logprobs.text_offset.length ? logprobs.text_offset.at(-1)! + logprobs.tokens.at(-1)!.length : offset;
      return { ...base, choices: [{ index: 0, text, logprobs, finish_reason: finish }] };
    };
    const { done, detok } = run(h, res, r, promptIds, maxTokens, k, steer, (ev, d) => {
      if (k !== null) gen.push({ id: ev.id, logprob: ev.logprob!, top: ev.top! });
      const text = d.take();
      if (text !== '' || gen.length > 0) send!(piece(text, gen.splice(0), null));
    });
    send = startSse(res);
    if (r.echo) send(piece(echoText, promptEntries, null));
    await endStream(res, send, done, (out) => [
      piece(detok.rest(), gen.splice(0), finishReason(out)),
      ...(r.includeUsage ? [{ ...base, choices: [], usage: usage(promptIds.length, out.ids.length) }] : []),
    ]);
  };

  const models = () => ({ object: 'list', data: [...hosted.keys()].map((id) => ({ id, object: 'model', created, owned_by: 'dsteer' })) });

  const handle = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const path = (req.url ?? '/').split('?')[0]!;
    if (path === '/health') {
      const load = [...hosted.values()].map((h) => h.sched.load());
      sendJson(res, draining ? 503 : 200, {
        status: draining ? 'draining' : 'ok',
        models: [...hosted.keys()],
        active: load.reduce((a, l) => a + l.active, 0),
        waiting: load.reduce((a, l) => a + l.waiting, 0),
      });
      return;
    }
    if (!path.startsWith('/v1/')) throw new ApiError(404, `no route ${req.method} ${path}; routes: GET /health, GET /v1/models, POST /v1/chat/completions, POST /v1/completions`, null, 'not_found');
    if (!authorized(req)) throw new ApiError(401, 'missing or wrong API key: send "Authorization: Bearer KEY" with the key given to --api-key', null, 'invalid_api_key');
    if (draining) throw new ApiError(503, 'the server is shutting down', null, 'shutting_down');
    const post = (fn: (res: ServerResponse, body: unknown) => Promise<void>) => async () => {
      if (req.method !== 'POST') throw new ApiError(405, `${path} takes POST`, null, 'method_not_allowed');
      await fn(res, parseJson(await readBody(req, maxBody)));
    };
    const routes: Record<string, () => Promise<void> | void> = {
      '/v1/chat/completions': post(chat),
      '/v1/completions': post(completion),
      '/v1/models': () => {
        if (req.method !== 'GET') throw new ApiError(405, '/v1/models takes GET', null, 'method_not_allowed');
        sendJson(res, 200, models());
      },
    };
    const route = routes[path];
    if (route) return route();
    const one = /^\/v1\/models\/(.+)$/.exec(path);
    if (one && req.method === 'GET') {
      const name = decodeURIComponent(one[1]!);
      modelOf(name);
      sendJson(res, 200, { id: name, object: 'model', created, owned_by: 'dsteer' });
      return;
    }
    throw new ApiError(404, `no route ${req.method} ${path}; routes: GET /health, GET /v1/models, POST /v1/chat/completions, POST /v1/completions`, null, 'not_found');
  };

  const server: Server = createServer((req, res) => {
    inFlight++;
    res.on('close', () => {
      inFlight--;
      if (draining && inFlight === 0) drained?.();
    });
    if (draining) res.setHeader('connection', 'close');
    handle(req, res).catch((e) => {
      const err = asApiError(e, null);
      if (err.status >= 500) opts.log?.(`error: ${err.message}`);
      if (res.headersSent) {
        // mid-stream: an error event, then the end
        if (!res.writableEnded) res.end(`data: ${JSON.stringify(err.body())}\n\n`);
      } else {
        if (err.status === 413) res.setHeader('connection', 'close');
        sendError(res, err);
      }
    });
  });
  server.headersTimeout = 30_000;
  server.requestTimeout = 0; // a long generation is not a slow client
  server.keepAliveTimeout = 65_000; // longer than clients' idle pools keep sockets, so a reused socket is not closed under them
  const host = opts.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 8000, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  let closing: Promise<void> | null = null;
  const drain = async (): Promise<void> => {
    draining = true;
    server.close();
    server.closeIdleConnections();
    if (inFlight > 0) await new Promise<void>((r) => (drained = r));
    for (const h of hosted.values()) await h.sched.idle();
    server.closeAllConnections();
  };
  const shown = host.includes(':') ? `[${host}]` : host;
  return {
    url: `http://${shown}:${port}`,
    port,
    host,
    schedulers: new Map([...hosted].map(([n, h]) => [n, h.sched])),
    inFlight: () => inFlight,
    close: () => (closing ??= drain()),
  };
}
