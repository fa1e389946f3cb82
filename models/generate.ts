/**
 * Batched generation with continuous batching: requests of different lengths share each forward;
 * a request's prompt is prefilled (in chunks when long), then it decodes one token per step until
 * an eos id or its token limit; finished requests free their KV slot for waiting ones. Every row's
 * result is independent of the others in its batch, so greedy output is bitwise the same alone or
 * batched.
 */
import { DsteerError } from '../engine/errors.js';
import { Rng } from '../engine/rng.js';
import { BatchBuilder, type SeqSteer } from './batch.js';
import { createRunState, fitShape, forward, setSteering, type Model, type RunState } from './llama.js';

export interface GenerateRequest {
  promptIds: number[];
  maxNewTokens: number;
  /** 0 = greedy (default). */
  temperature?: number;
  /** Nucleus mass, (0, 1]; 1 = off (default). */
  topP?: number;
  /** Seed of this request's sampling stream (default 0). */
  seed?: number;
  /** Ids that end the request (default: the model's eos ids). */
  stopIds?: number[];
  /** This request's steering (needs `opts.steering`). */
  steer?: SeqSteer;
}

export interface GenerateResult {
  /** Generated ids only (a stop id that ended the request is included). */
  ids: number[];
  finish: 'stop' | 'length';
}

/** Vectors stacked for a run: [nVec, sites.length, dim] (see llama.ts setSteering). */
export interface SteeringSetup {
  sites: string[];
  vectors: Float32Array;
  preserveNorm: boolean;
}

export interface GenerateOptions {
  steering?: SteeringSetup;
  /** Most sequences decoding at once (default 16). */
  maxBatch?: number;
  /** Most rows per forward (prefill chunking; default 256). */
  maxRows?: number;
  /** Called after each step with the request index and the token it produced. */
  onToken?: (request: number, id: number) => void;
}

interface Active {
  req: number;
  slot: number;
  ids: number[]; // prompt + generated so far
  fed: number; // tokens already in the KV cache
  out: number[];
  rng: Rng;
}

function checkRequest(m: Model, r: GenerateRequest, i: number): void {
  if (r.promptIds.length === 0) throw new DsteerError(`request ${i}: the prompt has no tokens`);
  for (const id of r.promptIds) {
    if (!Number.isInteger(id) || id < 0 || id >= m.cfg.vocabSize) throw new DsteerError(`request ${i}: token id ${id} is outside the vocabulary (0..${m.cfg.vocabSize - 1})`);
  }
  if (!Number.isInteger(r.maxNewTokens) || r.maxNewTokens < 0) throw new DsteerError(`request ${i}: max new tokens must be a non-negative integer`);
  const t = r.temperature ?? 0;
  if (!(t >= 0) || !Number.isFinite(t)) throw new DsteerError(`request ${i}: temperature must be >= 0 (got ${t})`);
  const p = r.topP ?? 1;
  if (!(p > 0 && p <= 1)) throw new DsteerError(`request ${i}: top-p must be in (0, 1] (got ${p})`);
  const len = r.promptIds.length + r.maxNewTokens;
  if (len > m.cfg.maxContext) throw new DsteerError(`request ${i}: ${r.promptIds.length} prompt tokens + ${r.maxNewTokens} new tokens exceed the model's context of ${m.cfg.maxContext}`);
}

/**
 * Generates continuations for a list of requests.
 * @example
 * const [r] = await generate(model, [{ promptIds: [1], maxNewTokens: 8 }]);
 * assert(r.ids.length === 8 && r.finish === 'length'); // 8 greedy token ids (fewer, 'stop', if an eos id came first)
 */
export async function generate<F, I>(m: Model<F, I>, reqs: GenerateRequest[], opts: GenerateOptions = {}): Promise<GenerateResult[]> {
  reqs.forEach((r, i) => checkRequest(m, r, i));
  if (reqs.length === 0) return [];
  const maxSeq = Math.min(m.cfg.maxContext, Math.max(...reqs.map((r) => r.promptIds.length + Math.max(1, r.maxNewTokens))));
  const wantSlots = Math.min(reqs.length, opts.maxBatch ?? 16);
  const shape = fitShape(m, { maxRows: Math.max(wantSlots, opts.maxRows ?? 256), maxOut: wantSlots, nSlots: wantSlots, maxSeq });
  const { nSlots, maxRows } = shape;
  const s: RunState<F, I> = createRunState(m, shape);
  const nSites = opts.steering?.sites.length ?? 0;
  if (opts.steering) setSteering(m, s, opts.steering.sites, opts.steering.vectors, opts.steering.preserveNorm);
  else if (reqs.some((r) => r.steer)) throw new Error('a request carries steering but no steering vectors were given');

  const V = m.cfg.vocabSize;
  const results: GenerateResult[] = reqs.map(() => ({ ids: [], finish: 'length' }));
  const stops = reqs.map((r) => new Set(r.stopIds ?? m.cfg.eosTokenIds));
  const freeSlots = Array.from({ length: nSlots }, (_, i) => nSlots - 1 - i);
  const active: Active[] = [];
  let next = 0;
  const bb = new BatchBuilder(maxRows, shape.maxOut, 0, nSites);
  const outSeq: Active[] = [];
  const temp = m.k.allocF32(nSlots);
  const topP = m.k.allocF32(nSlots);
  const uni = m.k.allocF32(nSlots);
  const tok = m.k.allocI32(nSlots);
  const hTemp = new Float32Array(nSlots);
  const hTopP = new Float32Array(nSlots);
  const hUni = new Float32Array(nSlots);
  // queue a sequence's tokens not yet in its KV cache; the row of its newest token wants logits
  const feed = (a: Active): void => {
    while (a.fed < a.ids.length) {
      const last = a.fed === a.ids.length - 1;
      if (!bb.fits(1, last ? 1 : 0, 0)) return;
      bb.add(a.slot, a.ids[a.fed]!, a.fed, last, false, reqs[a.req]!.steer ?? null);
      if (last) outSeq.push(a);
      a.fed++;
    }
  };

  while (next < reqs.length || active.length > 0) {
    // admit waiting requests into free slots (requests with no new tokens finish at once)
    while (next < reqs.length && freeSlots.length > 0) {
      const r = reqs[next]!;
      if (r.maxNewTokens === 0) {
        next++;
        continue;
      }
      active.push({ req: next, slot: freeSlots.pop()!, ids: [...r.promptIds], fed: 0, out: [], rng: new Rng(r.seed ?? 0) });
      next++;
    }
    if (active.length === 0) break;
    // one forward: sequences that are decoding first (one row each), then prompt chunks
    bb.reset();
    outSeq.length = 0;
    for (const a of active) if (a.fed === a.ids.length - 1) feed(a);
    for (const a of active) if (a.fed < a.ids.length - 1) feed(a);
    forward(m, s, bb.batch());
    // sample one token per logits row, with each request's own parameters and random stream
    const n = outSeq.length;
    if (n === 0) continue;
    for (let i = 0; i < n; i++) {
      const r = reqs[outSeq[i]!.req]!;
      hTemp[i] = r.temperature ?? 0;
      hTopP[i] = r.topP ?? 1;
      hUni[i] = hTemp[i]! > 0 ? outSeq[i]!.rng.uniform() : 0;
    }
    m.k.writeF32(temp, hTemp.subarray(0, n));
    m.k.writeF32(topP, hTopP.subarray(0, n));
    m.k.writeF32(uni, hUni.subarray(0, n));
    m.k.sample(tok, s.logits, n, V, temp, topP, uni);
    const ids = await m.k.readI32(tok, n);
    for (let i = 0; i < n; i++) {
      const a = outSeq[i]!;
      const id = ids[i]!;
      a.out.push(id);
      a.ids.push(id);
      opts.onToken?.(a.req, id);
      const done = stops[a.req]!.has(id) || a.out.length >= reqs[a.req]!.maxNewTokens;
      if (done) {
        results[a.req] = { ids: a.out, finish: stops[a.req]!.has(id) ? 'stop' : 'length' };
        active.splice(active.indexOf(a), 1);
        freeSlots.push(a.slot);
      }
    }
  }
  return results;
}
