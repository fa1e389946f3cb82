/**
 * A client for OpenAI-compatible chat endpoints (`POST {base}/chat/completions`: our `dsteer
 * serve`, vLLM, llama.cpp's server, hosted APIs), built on `fetch` so it runs anywhere.
 *
 * - Concurrency: at most `concurrency` requests in flight over all endpoints together; callers
 *   may fire thousands of `chat()` calls at once and they queue.
 * - Round robin: every attempt goes to the next endpoint in turn, so several servers share the
 *   load and a retry lands on another server than the one that failed.
 * - Retries: HTTP 429, 5xx, a network error or a call that exceeds `timeoutMs` (the whole call,
 *   body included) is retried up to `retries` times after exponential backoff
 *   (`backoffMs * 2^attempt`, capped at `maxBackoffMs`; a numeric Retry-After header raises it up
 *   to that cap). Other 4xx answers are the caller's fault and fail at once with the server's
 *   message.
 * - Probe: `probe()` asks every endpoint once for `top_logprobs` 20, then 5 when 20 is refused
 *   with a 4xx; the count is the one accepted with alternatives in the answer, 0 when neither
 *   gives any. The judge uses the smallest over the endpoints.
 */
import { DsteerError } from '../../engine/errors.js';

export interface ChatMessageIn {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export interface ChatRequest {
  messages: ChatMessageIn[];
  maxTokens: number;
  /** Default 0 (greedy). */
  temperature?: number;
  /** Alternatives per position to ask for; 0 or absent = no logprobs. */
  topLogprobs?: number;
}

export interface TopLogprob {
  token: string;
  logprob: number;
}

export interface ChatAnswer {
  text: string;
  /** Per generated position: the sampled token and its top alternatives; null when the endpoint gave no logprobs. */
  tokens: { token: string; top: TopLogprob[] }[] | null;
  /** The endpoint that answered. */
  endpoint: string;
}

export interface JudgeClientOptions {
  /** Base URLs such as http://127.0.0.1:8000/v1 (requests go to BASE/chat/completions). */
  endpoints: string[];
  /** The `model` field of every request. */
  model: string;
  /** Sent as `Authorization: Bearer KEY` when given. */
  apiKey?: string;
  /** Requests in flight at once over all endpoints (default 16). */
  concurrency?: number;
  /** Retries after the first attempt (default 6). */
  retries?: number;
  /** Per-call timeout in ms, response body included (default 120000). */
  timeoutMs?: number;
  /** First backoff in ms (default 500); doubles per retry. */
  backoffMs?: number;
  /** Backoff cap in ms (default 30000). */
  maxBackoffMs?: number;
  /** The fetch to use (default globalThis.fetch). */
  fetch?: typeof fetch;
}

/** What the endpoints can do: the top_logprobs count each returns (0 = no logprobs). */
export interface JudgeCapability {
  topLogprobs: number;
  endpoints: { url: string; topLogprobs: number }[];
}

/** A 4xx answer other than 429: not retried. */
export class JudgeHttpError extends DsteerError {
  override name = 'JudgeHttpError';
  readonly status: number;
  constructor(message: string, status: number) {
    super(message, 1);
    this.status = status;
  }
}

/**
 * Checks a `--judge` list of base URLs (comma-separated, http or https) and strips trailing slashes.
 * @example
 * assert(parseJudgeEndpoints('http://a:8000/v1/, https://b/v1').join(' ') === 'http://a:8000/v1 https://b/v1');
 */
export function parseJudgeEndpoints(list: string, flag = '--judge'): string[] {
  const out = list.split(',').map((s) => s.trim()).filter((s) => s !== '');
  if (out.length === 0) throw new DsteerError(`${flag}: no endpoint given; expected auto, embedded, none or URL[,URL...] such as http://127.0.0.1:8000/v1`, 2);
  return out.map((u) => {
    let url: URL;
    try {
      url = new URL(u);
    } catch {
      throw new DsteerError(`${flag}: "${u}" is not a URL; expected auto, embedded, none or http(s)://HOST:PORT/v1[,...]`, 2);
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new DsteerError(`${flag}: "${u}" is not http or https`, 2);
    return u.replace(/\/+$/, '');
  });
}

interface Parsed {
  choices?: { message?: { content?: string | null }; logprobs?: { content?: { token: string; logprob: number; top_logprobs?: TopLogprob[] }[] | null } | null }[];
  error?: { message?: string } | string;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * The client (see the file header).
 * @example
 * let calls = 0;
 * const fake = async (url, init) => {
 *   calls++;
 *   if (calls === 1) return new Response('busy', { status: 503 });
 *   const body = JSON.parse(init.body);
 *   return Response.json({ choices: [{ message: { content: body.model + ':' + url.split('/')[2] } }] });
 * };
 * const c = new JudgeClient({ endpoints: ['http://a/v1', 'http://b/v1'], model: 'm', backoffMs: 1, fetch: fake });
 * const r = await c.chat({ messages: [{ role: 'user', content: 'hi' }], maxTokens: 4 });
 * assert(r.text === 'm:b' && r.tokens === null && c.stats.retries === 1 && c.stats.requests === 2);
 */
export class JudgeClient {
  readonly endpoints: string[];
  readonly model: string;
  /** HTTP requests sent (attempts, retries included), retries among them, and answers per endpoint. */
  readonly stats = { requests: 0, retries: 0, answered: {} as Record<string, number> };
  private readonly o: Required<Omit<JudgeClientOptions, 'apiKey' | 'endpoints' | 'model'>> & { apiKey?: string };
  private next = 0;
  private active = 0;
  private readonly waiting: (() => void)[] = [];

  constructor(opts: JudgeClientOptions) {
    if (opts.endpoints.length === 0) throw new DsteerError('judge client: no endpoints', 2);
    this.endpoints = opts.endpoints.map((e) => e.replace(/\/+$/, ''));
    this.model = opts.model;
    this.o = {
      concurrency: Math.max(1, opts.concurrency ?? 16),
      retries: Math.max(0, opts.retries ?? 6),
      timeoutMs: opts.timeoutMs ?? 120_000,
      backoffMs: opts.backoffMs ?? 500,
      maxBackoffMs: opts.maxBackoffMs ?? 30_000,
      fetch: opts.fetch ?? globalThis.fetch.bind(globalThis),
      ...(opts.apiKey ? { apiKey: opts.apiKey } : {}),
    };
  }

  /** One chat completion, queued under the concurrency limit, retried as the file header says. */
  async chat(req: ChatRequest): Promise<ChatAnswer> {
    await this.acquire();
    try {
      return await this.withRetries(req, null);
    } finally {
      this.release();
    }
  }

  /** Asks each endpoint for top_logprobs (20, then 5, then none); see JudgeCapability. */
  async probe(): Promise<JudgeCapability> {
    const endpoints: { url: string; topLogprobs: number }[] = [];
    const messages: ChatMessageIn[] = [{ role: 'user', content: 'Reply with one digit from 1 to 9.' }];
    for (let i = 0; i < this.endpoints.length; i++) {
      let n = 0;
      for (const k of [20, 5]) {
        try {
          const a = await this.withRetries({ messages, maxTokens: 1, topLogprobs: k }, i);
          // accepted with alternatives: the endpoint serves k (a short list only means few tokens had mass)
          n = (a.tokens?.[0]?.top.length ?? 0) > 0 ? k : 0;
          break;
        } catch (e) {
          if (!(e instanceof JudgeHttpError)) throw e;
        }
      }
      if (n === 0) await this.withRetries({ messages, maxTokens: 1 }, i); // plain chat must work
      endpoints.push({ url: this.endpoints[i]!, topLogprobs: n });
    }
    return { topLogprobs: Math.min(...endpoints.map((e) => e.topLogprobs)), endpoints };
  }

  private acquire(): Promise<void> {
    if (this.active < this.o.concurrency) {
      this.active++;
      return Promise.resolve();
    }
    return new Promise((r) => this.waiting.push(r));
  }

  private release(): void {
    const w = this.waiting.shift();
    if (w) w();
    else this.active--;
  }

  private async withRetries(req: ChatRequest, pinned: number | null): Promise<ChatAnswer> {
    let last = '';
    for (let attempt = 0; attempt <= this.o.retries; attempt++) {
      const url = this.endpoints[pinned ?? this.next++ % this.endpoints.length]!;
      if (attempt > 0) this.stats.retries++;
      const r = await this.attempt(url, req);
      if ('answer' in r) {
        this.stats.answered[url] = (this.stats.answered[url] ?? 0) + 1;
        return r.answer;
      }
      last = `${url}: ${r.why}`;
      if (attempt < this.o.retries) {
        const wait = Math.min(this.o.maxBackoffMs, Math.max(this.o.backoffMs * 2 ** attempt, r.retryAfterMs ?? 0));
        await sleep(wait);
      }
    }
    throw new DsteerError(`judge: ${last} (gave up after ${this.o.retries + 1} attempts; see --judge-retries, --judge-timeout)`, 1);
  }

  /** One HTTP attempt: the answer, or why it failed (retryable); throws JudgeHttpError on other 4xx. */
  private async attempt(url: string, req: ChatRequest): Promise<{ answer: ChatAnswer } | { why: string; retryAfterMs?: number }> {
    const body: Record<string, unknown> = {
      model: this.model,
      messages: req.messages,
      max_tokens: req.maxTokens,
      temperature: req.temperature ?? 0,
    };
    if (req.topLogprobs && req.topLogprobs > 0) Object.assign(body, { logprobs: true, top_logprobs: req.topLogprobs });
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (this.o.apiKey) headers.authorization = `Bearer ${this.o.apiKey}`;
    const ctl = new AbortController();
    const timer = setTimeout(() => ctl.abort(), this.o.timeoutMs);
    this.stats.requests++;
    let status: number;
    let text: string;
    let retryAfter: string | null;
    try {
      const res = await this.o.fetch(`${url}/chat/completions`, { method: 'POST', headers, body: JSON.stringify(body), signal: ctl.signal });
      status = res.status;
      retryAfter = res.headers.get('retry-after');
      text = await res.text();
    } catch (e) {
      return { why: ctl.signal.aborted ? `no answer within ${this.o.timeoutMs} ms` : `network error (${(e as Error).message})` };
    } finally {
      clearTimeout(timer);
    }
    let json: Parsed | null = null;
    try {
      json = JSON.parse(text) as Parsed;
    } catch {
      json = null;
    }
    const msg = (): string => {
      const e = json?.error;
      return (typeof e === 'string' ? e : e?.message) ?? text.slice(0, 200);
    };
    if (status === 429 || status >= 500) {
      const ra = retryAfter !== null && /^\d+(\.\d+)?$/.test(retryAfter.trim()) ? Number(retryAfter) * 1000 : undefined;
      return { why: `HTTP ${status} ${msg()}`, ...(ra !== undefined ? { retryAfterMs: ra } : {}) };
    }
    if (status < 200 || status >= 300) throw new JudgeHttpError(`judge ${url}: HTTP ${status}: ${msg()}`, status);
    const choice = json?.choices?.[0];
    if (!choice?.message) return { why: `answer without choices[0].message: ${text.slice(0, 200)}` };
    const content = choice.logprobs?.content;
    const tokens = Array.isArray(content) && content.length > 0 ? content.map((c) => ({ token: c.token, top: Array.isArray(c.top_logprobs) ? c.top_logprobs : [] })) : null;
    return { answer: { text: choice.message.content ?? '', tokens, endpoint: url } };
  }
}
