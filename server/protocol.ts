/**
 * The OpenAI wire protocol: request bodies checked field by field into typed requests (every
 * problem is an ApiError naming the field, answered as `{"error": {message, type, param, code}}`),
 * the incremental detokenizer that applies stop strings and holds back text that might still
 * become one, and the log-probability shapes of both endpoints.
 */
import type { ChatMessage } from '../models/tokenizer.js';

/** An error answered to the client with an HTTP status and an OpenAI-style error object. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly param: string | null = null,
    readonly code: string | null = null,
    readonly type: string = status === 401 ? 'authentication_error' : status === 429 ? 'rate_limit_error' : status >= 500 ? 'server_error' : 'invalid_request_error',
  ) {
    super(message);
  }

  /**
   * The body sent to the client.
   * @example
   * const e = new ApiError(400, '"temperature" must be a number', 'temperature');
   * assert(e.body().error.param === 'temperature' && e.body().error.type === 'invalid_request_error');
   */
  body(): { error: { message: string; type: string; param: string | null; code: string | null } } {
    return { error: { message: this.message, type: this.type, param: this.param, code: this.code } };
  }
}

/** Per-request steering: a vector registered at startup, its strength and layers. */
export interface SteeringRequest {
  vector: string;
  /** One value for every layer, or one per layer in `layers` order. */
  lambda: number[];
  /** Layers at hook_resid_post; null = every vector in the file. */
  layers: number[] | null;
  positions: 'all' | 'generated';
}

/** What both endpoints share once checked. */
export interface SamplingRequest {
  model: string;
  /** null = as many as fit (up to the server's cap). */
  maxTokens: number | null;
  temperature: number;
  topP: number;
  /** null = a fresh random seed. */
  seed: number | null;
  stop: string[];
  stream: boolean;
  includeUsage: boolean;
  /** vLLM's extension: generate until max_tokens or a stop string, past end-of-sequence tokens. */
  ignoreEos: boolean;
  steering: SteeringRequest | null;
}

export interface ChatRequest extends SamplingRequest {
  messages: ChatMessage[];
  /** null = no logprobs; k = logprobs with the top k (0..20) alternatives. */
  topLogprobs: number | null;
}

export interface CompletionRequest extends SamplingRequest {
  prompt: string;
  echo: boolean;
  /** null = no logprobs; k = the legacy integer (0..20). */
  logprobs: number | null;
}

type Obj = Record<string, unknown>;

const bad = (param: string, what: string, code: string | null = null): ApiError => new ApiError(400, `"${param}" ${what}`, param, code);

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function num(b: Obj, key: string, dflt: number, min: number, max: number): number {
  const v = b[key];
  if (v === undefined || v === null) return dflt;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw bad(key, `must be a number (got ${JSON.stringify(v)})`, 'invalid_type');
  if (v < min || v > max) throw bad(key, `must be in [${min}, ${max}] (got ${v})`, 'invalid_value');
  return v;
}

function int(b: Obj, key: string, min: number, max: number): number | null {
  const v = b[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isInteger(v)) throw bad(key, `must be an integer (got ${JSON.stringify(v)})`, 'invalid_type');
  if (v < min || v > max) throw bad(key, `must be in ${min}..${max} (got ${v})`, 'invalid_value');
  return v;
}

function bool(b: Obj, key: string): boolean {
  const v = b[key];
  if (v === undefined || v === null) return false;
  if (typeof v !== 'boolean') throw bad(key, `must be a boolean (got ${JSON.stringify(v)})`, 'invalid_type');
  return v;
}

/** Fields we do not implement: accepted only at their neutral value, so no request is silently changed. */
function neutral(b: Obj): void {
  for (const key of ['frequency_penalty', 'presence_penalty']) {
    const v = b[key];
    if (v !== undefined && v !== null && v !== 0) throw bad(key, 'is not supported by this server (only 0)', 'unsupported_parameter');
  }
  const n = b['n'];
  if (n !== undefined && n !== null && n !== 1) throw bad('n', 'is not supported by this server (only 1)', 'unsupported_parameter');
  const lb = b['logit_bias'];
  if (lb !== undefined && lb !== null && !(isObj(lb) && Object.keys(lb).length === 0)) throw bad('logit_bias', 'is not supported by this server', 'unsupported_parameter');
}

function steering(b: Obj): SteeringRequest | null {
  const v = b['steering'];
  if (v === undefined || v === null) return null;
  if (!isObj(v)) throw bad('steering', 'must be an object {"vector": NAME, "lambda": X, "layers": [..]}', 'invalid_type');
  const vector = v['vector'];
  if (typeof vector !== 'string' || vector === '') throw bad('steering.vector', 'must be the name of a vector registered with --vector NAME=FILE', 'invalid_type');
  const lam = v['lambda'];
  const lambda = typeof lam === 'number' ? [lam] : Array.isArray(lam) ? lam : null;
  if (lambda === null || lambda.length === 0 || !lambda.every((x) => typeof x === 'number' && Number.isFinite(x))) {
    throw bad('steering.lambda', 'must be a finite number or a non-empty list of them (one per layer)', 'invalid_type');
  }
  let layers: number[] | null = null;
  const l = v['layers'];
  if (l !== undefined && l !== null) {
    if (!Array.isArray(l) || l.length === 0 || !l.every((x) => typeof x === 'number' && Number.isInteger(x) && x >= 0)) {
      throw bad('steering.layers', 'must be a non-empty list of layer numbers (integers >= 0)', 'invalid_type');
    }
    layers = l as number[];
  }
  const p = v['positions'] ?? 'all';
  if (p !== 'all' && p !== 'generated') throw bad('steering.positions', 'must be "all" or "generated"', 'invalid_value');
  for (const key of Object.keys(v)) {
    if (!['vector', 'lambda', 'layers', 'positions'].includes(key)) throw bad(`steering.${key}`, 'is not a steering field (vector, lambda, layers, positions)', 'unknown_parameter');
  }
  return { vector, lambda: lambda as number[], layers, positions: p };
}

function sampling(b: Obj): SamplingRequest {
  const model = b['model'];
  if (typeof model !== 'string' || model === '') throw bad('model', 'must be a model name (see GET /v1/models)', model === undefined ? 'missing_required_parameter' : 'invalid_type');
  neutral(b);
  const maxTokens = int(b, 'max_completion_tokens', 0, Number.MAX_SAFE_INTEGER) ?? int(b, 'max_tokens', 0, Number.MAX_SAFE_INTEGER);
  const stopV = b['stop'];
  let stop: string[] = [];
  if (typeof stopV === 'string') stop = [stopV];
  else if (Array.isArray(stopV)) stop = stopV as string[];
  else if (stopV !== undefined && stopV !== null) throw bad('stop', 'must be a string or a list of up to 4 strings', 'invalid_type');
  if (stop.length > 4 || !stop.every((s) => typeof s === 'string' && s.length > 0 && s.length <= 256)) throw bad('stop', 'must be a string or a list of up to 4 non-empty strings (at most 256 characters each)', 'invalid_value');
  const so = b['stream_options'];
  if (so !== undefined && so !== null && !isObj(so)) throw bad('stream_options', 'must be an object', 'invalid_type');
  const includeUsage = isObj(so) ? bool(so, 'include_usage') : false;
  return {
    model,
    maxTokens,
    temperature: num(b, 'temperature', 1, 0, 2),
    topP: num(b, 'top_p', 1, 0, 1) || Number.MIN_VALUE,
    seed: int(b, 'seed', -(2 ** 53) + 1, 2 ** 53 - 1),
    stop,
    stream: bool(b, 'stream'),
    includeUsage,
    ignoreEos: bool(b, 'ignore_eos'),
    steering: steering(b),
  };
}

function content(v: unknown, at: string): string {
  if (typeof v === 'string') return v;
  // the array form: text parts only
  if (Array.isArray(v)) {
    return v
      .map((p, i) => {
        if (!isObj(p) || p['type'] !== 'text' || typeof p['text'] !== 'string') throw bad(`${at}[${i}]`, 'must be a {"type": "text", "text": STRING} part (only text is supported)', 'invalid_type');
        return p['text'] as string;
      })
      .join('');
  }
  throw bad(at, 'must be a string or a list of text parts', 'invalid_type');
}

/**
 * Checks a /v1/chat/completions body.
 * @example
 * const r = parseChatRequest({ model: 'm', messages: [{ role: 'user', content: 'hi' }], temperature: 0 });
 * assert(r.messages.length === 1 && r.temperature === 0 && r.topLogprobs === null);
 */
export function parseChatRequest(body: unknown): ChatRequest {
  if (!isObj(body)) throw new ApiError(400, 'the request body must be a JSON object', null, 'invalid_type');
  const s = sampling(body);
  const msgs = body['messages'];
  if (!Array.isArray(msgs) || msgs.length === 0) throw bad('messages', 'must be a non-empty list of {"role", "content"} objects', msgs === undefined ? 'missing_required_parameter' : 'invalid_type');
  const messages = msgs.map((m, i): ChatMessage => {
    if (!isObj(m)) throw bad(`messages[${i}]`, 'must be an object {"role", "content"}', 'invalid_type');
    const role = m['role'];
    if (!['system', 'user', 'assistant', 'developer', 'tool'].includes(role as string)) throw bad(`messages[${i}].role`, 'must be one of system, user, assistant, developer, tool', 'invalid_value');
    return { role: role === 'developer' ? 'system' : (role as string), content: content(m['content'], `messages[${i}].content`) };
  });
  const lp = bool(body, 'logprobs');
  const top = int(body, 'top_logprobs', 0, 20);
  if (top !== null && !lp) throw bad('top_logprobs', 'needs "logprobs": true', 'invalid_value');
  return { ...s, messages, topLogprobs: lp ? (top ?? 0) : null };
}

/**
 * Checks a /v1/completions body (a prompt string; `logprobs` the legacy integer).
 * @example
 * const r = parseCompletionRequest({ model: 'm', prompt: 'Once', echo: true, logprobs: 2, max_tokens: 0 });
 * assert(r.echo && r.logprobs === 2 && r.maxTokens === 0);
 */
export function parseCompletionRequest(body: unknown): CompletionRequest {
  if (!isObj(body)) throw new ApiError(400, 'the request body must be a JSON object', null, 'invalid_type');
  const s = sampling(body);
  let prompt = body['prompt'];
  if (Array.isArray(prompt) && prompt.length === 1 && typeof prompt[0] === 'string') prompt = prompt[0];
  if (typeof prompt !== 'string') throw bad('prompt', 'must be a string (one prompt per request)', prompt === undefined ? 'missing_required_parameter' : 'invalid_type');
  for (const key of ['suffix', 'best_of']) {
    const v = body[key];
    if (v !== undefined && v !== null && !(key === 'best_of' && v === 1)) throw bad(key, 'is not supported by this server', 'unsupported_parameter');
  }
  return { ...s, prompt, echo: bool(body, 'echo'), logprobs: int(body, 'logprobs', 0, 20) };
}

/**
 * Incremental detokenizer: text that is safe to send (no half-decoded character, nothing that may
 * still grow into a stop string) and the stop-string rule (the text ends before the first match).
 * @example
 * const d = new Detok((ids) => ids.map((i) => String.fromCharCode(96 + i)).join(''), ['cd']);
 * d.push(1); d.push(2); d.push(3);
 * assert(d.take() === 'ab' && !d.stopped); // "c" is held back: it may start "cd"
 * d.push(4);
 * assert(d.stopped && d.take() === '' && d.text === 'ab');
 */
export class Detok {
  readonly ids: number[] = [];
  stopped = false;
  private sent = 0;
  private cached = '';
  private dirty = false;

  constructor(private readonly decode: (ids: number[]) => string, private readonly stops: string[]) {}

  /** The final text once stopped; otherwise the text so far (decoded when read: without stop strings a token costs no decode). */
  get text(): string {
    if (this.dirty) {
      this.cached = this.decode(this.ids);
      this.dirty = false;
    }
    return this.cached;
  }

  /** Adds a token; returns true when a stop string has now appeared. */
  push(id: number): boolean {
    if (this.stopped) return true;
    this.ids.push(id);
    this.dirty = true;
    if (this.stops.length === 0) return false;
    const full = this.text;
    let cut = -1;
    for (const s of this.stops) {
      const at = full.indexOf(s, Math.max(0, this.sent - s.length));
      if (at >= 0 && (cut < 0 || at < cut)) cut = at;
    }
    if (cut >= 0) {
      this.cached = full.slice(0, cut);
      this.stopped = true;
      return true;
    }
    return false;
  }

  /** New text that can be sent now. */
  take(): string {
    let end = this.text.length;
    if (!this.stopped) {
      while (end > this.sent && this.text[end - 1] === '\uFFFD') end--;
      const head = this.text.slice(0, end);
      let keep = end;
      for (const s of this.stops) {
        for (let k = Math.min(s.length - 1, end); k > 0; k--) {
          if (head.endsWith(s.slice(0, k))) {
            keep = Math.min(keep, end - k);
            break;
          }
        }
      }
      end = keep;
    }
    if (end <= this.sent) return '';
    const out = this.text.slice(this.sent, end);
    this.sent = end;
    return out;
  }

  /** Everything not sent yet (at the end of a request). */
  rest(): string {
    const out = this.text.slice(this.sent);
    this.sent = this.text.length;
    return out;
  }
}

/** One token's entry in chat logprobs (`choices[].logprobs.content[]`). */
export interface ChatLogprob {
  token: string;
  logprob: number;
  bytes: number[];
  top_logprobs: { token: string; logprob: number; bytes: number[] }[];
}

/**
 * A token string with its UTF-8 bytes, as chat logprobs carry them.
 * @example
 * assert(tokenEntry('é', -0.5).bytes.join() === '195,169');
 */
export function tokenEntry(token: string, logprob: number): { token: string; logprob: number; bytes: number[] } {
  return { token, logprob, bytes: [...new TextEncoder().encode(token)] };
}

/** The legacy completions logprobs object. */
export interface LegacyLogprobs {
  tokens: string[];
  token_logprobs: (number | null)[];
  top_logprobs: (Record<string, number> | null)[];
  text_offset: number[];
}
