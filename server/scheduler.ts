/**
 * A long-lived continuous-batching scheduler for one model: the loop of models/generate.ts, kept
 * running for as long as requests arrive. Rows join (a request is admitted into a free KV slot)
 * and leave (it finished, hit a stop string, or its client went away) between decode steps; every
 * row carries its own sampling parameters, random stream, stop ids and steering (its own alphas
 * and stacked vector index). The run state (KV cache, buffers, resident vectors) is allocated once.
 *
 * Prompt-token log-probabilities (`echo` + `logprobs` in /v1/completions) run through
 * models/run.ts feed() inside the same loop, one job between decode steps, so the backend is only
 * ever driven by one caller at a time.
 */
import { Rng } from '../engine/rng.js';
import { BatchBuilder, type SeqSteer } from '../models/batch.js';
import type { SteeringSetup } from '../models/generate.js';
import { createRunState, fitShape, forward, setSteering, type Model, type RunState } from '../models/llama.js';
import { feed } from '../models/run.js';

/** One alternative token with its log-probability. */
export interface TokenLogprob {
  id: number;
  logprob: number;
}

/** A generated token, with its log-probability and alternatives when the job asked for them. */
export interface TokenEvent {
  id: number;
  /** log p(id) under the model's distribution (before temperature/top-p); present when logprobs were asked. */
  logprob?: number;
  /** The most likely tokens, best first (length = the job's topLogprobs). */
  top?: TokenLogprob[];
}

export interface Job {
  promptIds: number[];
  maxNewTokens: number;
  /** 0 = greedy. */
  temperature: number;
  topP: number;
  seed: number;
  /** Ids that end the job (included in the result ids). */
  stopIds: number[];
  steer: SeqSteer | null;
  /** null = no log-probabilities; k >= 0 = the chosen token's and the top k alternatives. */
  topLogprobs: number | null;
  /** Called for every generated token; returning true ends the job with finish 'stop' (a stop string matched). */
  onToken?: (t: TokenEvent) => boolean | void;
}

export interface JobResult {
  ids: number[];
  finish: 'stop' | 'length' | 'cancelled';
}

export interface JobHandle {
  done: Promise<JobResult>;
  /** Frees the job's row at the next step boundary (or drops it from the queue); done resolves 'cancelled'. */
  cancel(): void;
}

/** Log-probabilities of each prompt token given the tokens before it (entry 0 is null: nothing predicts it). */
export type PromptLogprobs = ({ logprob: number; top: TokenLogprob[] } | null)[];

export interface SchedulerOptions {
  /** Rows decoding at once: the number of KV slots (default 16). */
  maxBatch?: number;
  /** Longest sequence (prompt + generated) a slot holds (default: the model's context). */
  maxSeq?: number;
  /** Most rows per forward, prompt chunks included (default 256). */
  maxRows?: number;
  /** Most jobs waiting for a slot (default 64); beyond it submit() throws QueueFullError. */
  maxQueue?: number;
  steering?: SteeringSetup;
}

/** The wait queue is full: the caller answers 429/503 instead of queueing more. */
export class QueueFullError extends Error {
  constructor(readonly limit: number) {
    super(`the request queue is full (${limit} waiting); retry later`);
  }
}

interface Row {
  job: Job;
  slot: number;
  ids: number[];
  fed: number;
  out: number[];
  rng: Rng;
  stops: Set<number>;
  cancelled: boolean;
  resolve: (r: JobResult) => void;
  reject: (e: unknown) => void;
}

interface ScoreJob {
  ids: number[];
  top: number;
  steer: SeqSteer | null;
  resolve: (r: PromptLogprobs) => void;
  reject: (e: unknown) => void;
}

/** The k largest entries of a log-probability row, best first (ties: lower id first). */
function topK(row: Float64Array | Float32Array, k: number): TokenLogprob[] {
  const best: TokenLogprob[] = [];
  if (k <= 0) return best;
  for (let i = 0; i < row.length; i++) {
    const v = row[i]!;
    if (best.length === k && v <= best[k - 1]!.logprob) continue;
    let at = best.length;
    while (at > 0 && best[at - 1]!.logprob < v) at--;
    best.splice(at, 0, { id: i, logprob: v });
    if (best.length > k) best.pop();
  }
  return best;
}

/** log-softmax of one logits row, in f64 (max subtracted). */
function logSoftmax64(row: Float32Array): Float64Array {
  let mx = -Infinity;
  for (let i = 0; i < row.length; i++) if (row[i]! > mx) mx = row[i]!;
  let sum = 0;
  for (let i = 0; i < row.length; i++) sum += Math.exp(row[i]! - mx);
  const lse = mx + Math.log(sum);
  const out = new Float64Array(row.length);
  for (let i = 0; i < row.length; i++) out[i] = row[i]! - lse;
  return out;
}

/**
 * The continuous-batching loop of one model.
 * @example
 * const sch = new Scheduler(model, { maxBatch: 4 });
 * const h = sch.submit({ promptIds: [1, 5, 9], maxNewTokens: 4, temperature: 0, topP: 1, seed: 0, stopIds: [], steer: null, topLogprobs: null });
 * assert((await h.done).ids.length === 4);
 */
export class Scheduler<F = unknown, I = unknown> {
  readonly maxSeq: number;
  readonly nSlots: number;
  private readonly maxQueue: number;
  private readonly s: RunState<F, I>;
  private readonly bb: BatchBuilder;
  private readonly free: number[];
  private readonly waiting: Row[] = [];
  private readonly active: Row[] = [];
  private readonly scoring: ScoreJob[] = [];
  private readonly temp: F;
  private readonly topP: F;
  private readonly uni: F;
  private readonly tok: I;
  private readonly hTemp: Float32Array;
  private readonly hTopP: Float32Array;
  private readonly hUni: Float32Array;
  private running: Promise<void> | null = null;
  /** Decode steps run so far (for tests and benchmarks: rows of one step shared a forward). */
  steps = 0;
  /** Most rows that shared one decode step so far. */
  peakRows = 0;
  /** Jobs ended by cancel() (a client that went away) before they finished. */
  cancelled = 0;

  constructor(readonly m: Model<F, I>, private readonly opts: SchedulerOptions = {}) {
    const want = Math.max(1, opts.maxBatch ?? 16);
    this.maxSeq = Math.min(m.cfg.maxContext, opts.maxSeq ?? m.cfg.maxContext);
    const shape = fitShape(m, { maxRows: Math.max(want, opts.maxRows ?? 256), maxOut: want, nSlots: want, maxSeq: this.maxSeq });
    this.nSlots = shape.nSlots;
    this.maxQueue = Math.max(0, opts.maxQueue ?? 64);
    this.s = createRunState(m, shape);
    if (opts.steering) setSteering(m, this.s, opts.steering.sites, opts.steering.vectors, opts.steering.preserveNorm);
    this.bb = new BatchBuilder(shape.maxRows, shape.maxOut, 0, opts.steering?.sites.length ?? 0);
    this.free = Array.from({ length: this.nSlots }, (_, i) => this.nSlots - 1 - i);
    const n = this.nSlots;
    this.temp = m.k.allocF32(n);
    this.topP = m.k.allocF32(n);
    this.uni = m.k.allocF32(n);
    this.tok = m.k.allocI32(n);
    this.hTemp = new Float32Array(n);
    this.hTopP = new Float32Array(n);
    this.hUni = new Float32Array(n);
  }

  /** Jobs holding a row, and jobs waiting for one (prompt scoring included). */
  load(): { active: number; waiting: number } {
    return { active: this.active.length, waiting: this.waiting.length + this.scoring.length };
  }

  /** Queues a generation job (validated by the caller: ids in the vocabulary, prompt + new tokens <= maxSeq). */
  submit(job: Job): JobHandle {
    if (job.promptIds.length === 0 || job.promptIds.length + Math.max(1, job.maxNewTokens) > this.maxSeq) {
      throw new Error(`job of ${job.promptIds.length} prompt + ${job.maxNewTokens} new tokens does not fit ${this.maxSeq}`);
    }
    this.checkQueue();
    let row!: Row;
    const done = new Promise<JobResult>((resolve, reject) => {
      row = { job, slot: -1, ids: [...job.promptIds], fed: 0, out: [], rng: new Rng(job.seed), stops: new Set(job.stopIds), cancelled: false, resolve, reject };
    });
    if (job.maxNewTokens === 0) {
      row.resolve({ ids: [], finish: 'length' });
    } else {
      this.waiting.push(row);
      this.kick();
    }
    return {
      done,
      cancel: () => {
        if (row.cancelled) return;
        row.cancelled = true;
        const w = this.waiting.indexOf(row);
        if (w >= 0) {
          this.waiting.splice(w, 1);
          this.cancelled++;
          row.resolve({ ids: row.out, finish: 'cancelled' });
        }
      },
    };
  }

  /** Log-probabilities of every prompt token (with the top `top` alternatives), run between decode steps. */
  promptLogprobs(ids: number[], top: number, steer: SeqSteer | null): Promise<PromptLogprobs> {
    this.checkQueue();
    return new Promise((resolve, reject) => {
      this.scoring.push({ ids, top, steer, resolve, reject });
      this.kick();
    });
  }

  /** Resolves once nothing is running or waiting. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  private checkQueue(): void {
    if (this.waiting.length + this.scoring.length >= this.maxQueue) throw new QueueFullError(this.maxQueue);
  }

  private kick(): void {
    if (this.running) return;
    this.running = this.loop().finally(() => {
      this.running = null;
      // work queued while the loop was finishing
      if (this.waiting.length + this.scoring.length > 0) this.kick();
    });
  }

  private async loop(): Promise<void> {
    while (this.waiting.length + this.active.length + this.scoring.length > 0) {
      const sj = this.scoring.shift();
      if (sj) await this.runScore(sj);
      try {
        await this.step();
      } catch (e) {
        // an engine failure ends every row it touched; the loop keeps serving later jobs
        for (const r of this.active.splice(0)) {
          this.free.push(r.slot);
          r.reject(e);
        }
      }
      // let the event loop deliver tokens, accept requests and notice disconnects
      await new Promise<void>((res) => setImmediate(res));
    }
  }

  private async runScore(j: ScoreJob): Promise<void> {
    try {
      const out: PromptLogprobs = j.ids.map(() => null);
      const seq: { ids: number[]; logits: { from: number; to: number }; steer?: SeqSteer } = { ids: j.ids, logits: { from: 0, to: j.ids.length - 1 } };
      if (j.steer) seq.steer = j.steer;
      const fo: Parameters<typeof feed>[2] = {
        maxBatch: 1,
        logSoftmax: true,
        onLogits: (_s, p, row) => {
          out[p + 1] = { logprob: row[j.ids[p + 1]!]!, top: topK(row, j.top) };
        },
      };
      if (this.opts.steering) fo.steering = this.opts.steering;
      if (j.ids.length > 1) await feed(this.m, [seq], fo);
      j.resolve(out);
    } catch (e) {
      j.reject(e);
    }
  }

  private finish(r: Row, finish: JobResult['finish']): void {
    if (finish === 'cancelled') this.cancelled++;
    this.active.splice(this.active.indexOf(r), 1);
    this.free.push(r.slot);
    r.resolve({ ids: r.out, finish });
  }

  private feedRow(r: Row, outRows: Row[]): void {
    const bb = this.bb;
    while (r.fed < r.ids.length) {
      const last = r.fed === r.ids.length - 1;
      if (!bb.fits(1, last ? 1 : 0, 0)) return;
      bb.add(r.slot, r.ids[r.fed]!, r.fed, last, false, r.job.steer);
      if (last) outRows.push(r);
      r.fed++;
    }
  }

  /** One forward: leave (cancelled rows), join (waiting jobs into free slots), decode and prefill rows, sample. */
  private async step(): Promise<void> {
    const { m, s, bb } = this;
    for (const r of [...this.active]) if (r.cancelled) this.finish(r, 'cancelled');
    while (this.waiting.length > 0 && this.free.length > 0) {
      const r = this.waiting.shift()!;
      r.slot = this.free.pop()!;
      this.active.push(r);
    }
    if (this.active.length === 0) return;
    bb.reset();
    const outRows: Row[] = [];
    for (const r of this.active) if (r.fed === r.ids.length - 1) this.feedRow(r, outRows);
    for (const r of this.active) if (r.fed < r.ids.length - 1) this.feedRow(r, outRows);
    forward(m, s, bb.batch());
    const n = outRows.length;
    if (n === 0) return;
    this.steps++;
    this.peakRows = Math.max(this.peakRows, n);
    const V = m.cfg.vocabSize;
    // the raw distribution's log-probabilities, read only when some row asked for them
    const logits = outRows.some((r) => r.job.topLogprobs !== null) ? await m.k.readF32(s.logits, n * V) : null;
    for (let i = 0; i < n; i++) {
      const j = outRows[i]!.job;
      this.hTemp[i] = j.temperature;
      this.hTopP[i] = j.topP;
      this.hUni[i] = j.temperature > 0 ? outRows[i]!.rng.uniform() : 0;
    }
    m.k.writeF32(this.temp, this.hTemp.subarray(0, n));
    m.k.writeF32(this.topP, this.hTopP.subarray(0, n));
    m.k.writeF32(this.uni, this.hUni.subarray(0, n));
    m.k.sample(this.tok, s.logits, n, V, this.temp, this.topP, this.uni);
    const ids = await m.k.readI32(this.tok, n);
    for (let i = 0; i < n; i++) {
      const r = outRows[i]!;
      const id = ids[i]!;
      r.out.push(id);
      r.ids.push(id);
      const ev: TokenEvent = { id };
      if (logits && r.job.topLogprobs !== null) {
        const lp = logSoftmax64(logits.subarray(i * V, (i + 1) * V));
        ev.logprob = lp[id]!;
        ev.top = topK(lp, r.job.topLogprobs);
      }
      let stopString = false;
      if (!r.cancelled && r.job.onToken) {
        try {
          stopString = r.job.onToken(ev) === true;
        } catch {
          r.cancelled = true; // a failing consumer (e.g. a closed socket) ends its own row only
        }
      }
      if (r.cancelled) this.finish(r, 'cancelled');
      else if (r.stops.has(id) || stopString) this.finish(r, 'stop');
      else if (r.out.length >= r.job.maxNewTokens) this.finish(r, 'length');
    }
  }
}
