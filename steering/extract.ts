/**
 * D-STEER vector extraction (DSTEER-SPEC.md section 2): per layer, the mean over preference pairs
 * of h_DPO - h_SFT, the residual stream (`blocks.{l}.hook_resid_post`) at the LAST token of
 * prompt + chosen answer (ARCHITECTURE.md: the last token of the full string, encoded once).
 *
 * Pipeline, one chunk of pairs at a time (pairs stream in; nothing grows with their number except
 * the capped per-sample store):
 * 1. encode prompt + chosen and prompt + rejected with the SFT tokenizer; the DPO tokenizer must give
 *    the same ids (checked per pair, besides the up-front `sameTokenization` probe); pairs longer
 *    than the context, or with an answer of no tokens, are skipped and counted;
 * 2. one teacher-forced pass of the DPO model over both conversations gives the answers' summed
 *    log-likelihoods (when the filter needs them) AND the last-token states in the same forward;
 * 3. the filter decides; the SFT model runs on the kept pairs only (on all of them for
 *    `dpo-reward`, which needs SFT log-likelihoods too);
 * 4. float64 sums per layer (LayerSums) and the first `cap` chosen differences as f16 (SampleStore).
 * The result does not depend on the chunk size: a pair is scanned iff fewer than `maxPairs` were
 * kept before it, and sums run in kept order.
 *
 * Filters (the authors' is the first): `dpo-prefers-chosen` keeps a pair when the DPO model's summed
 * log p(chosen) >= log p(rejected); `mean-logprob` the same per token; `dpo-reward` when the implicit
 * reward margin [log p_DPO - log p_SFT](chosen) - [...](rejected) > 0; `none` keeps all.
 * The log-likelihoods are exactly those of `scorePairs` (same ids, same f64 summation order).
 *
 * `pc`: component k (0-based) of the CENTRED per-sample chosen differences (the sample store, so
 * at most `cap` samples and only the stored layers), sign-aligned so its dot product with the mean
 * difference is positive (DSTEER-SPEC 7.1) and rescaled to the mean difference's norm.
 */
import { DsteerError } from '../engine/errors.js';
import type { SeqSteer } from '../models/batch.js';
import type { ModelConfig } from '../models/config.js';
import type { SteeringSetup } from '../models/generate.js';
import { hookName } from '../models/hooks.js';
import type { Model } from '../models/llama.js';
import { feed, type FeedOptions, type FeedSequence } from '../models/run.js';
import { encodeSafetensors } from '../models/safetensors.js';
import { sameTokenization, type ModelTokenizer } from '../models/tokenizer.js';
import { cosine, LayerSums, norm, SampleStore, summarise, type Distribution } from './extract-stats.js';
import { svdSpectrum } from './linalg.js';
import type { PreferencePair } from './pairs.js';

export { SampleStore } from './extract-stats.js'; // Extraction.samples' class
import { FORMAT_KEY, FORMAT_VERSION } from './vector.js';

export type PairFilter = 'dpo-prefers-chosen' | 'mean-logprob' | 'dpo-reward' | 'none';
export const PAIR_FILTERS: readonly PairFilter[] = ['dpo-prefers-chosen', 'mean-logprob', 'dpo-reward', 'none'];
export type ExtractMethod = 'mean' | 'pc';
/**
 * Where the states are read: `last` = the last token of prompt + answer (DSTEER-SPEC section 2,
 * the authors'); `prompt-end` = the last prompt token, where the model is about to choose how to
 * answer (the same for chosen and rejected, so only the prompts matter there).
 */
export type ReadPosition = 'last' | 'prompt-end';
export const READ_POSITIONS: readonly ReadPosition[] = ['last', 'prompt-end'];

/** Steering applied to one side's runs (tests, or extracting from a steered model). */
export interface SideSteering {
  setup: SteeringSetup;
  steer: SeqSteer;
}

/** One side of the pair: a model, its tokenizer, and optionally steering during its runs. */
export interface ExtractModel {
  model: Model;
  tokenizer: ModelTokenizer;
  steering?: SideSteering;
}

export interface ExtractOptions {
  /** Stop after this many kept pairs. */
  maxPairs: number;
  /** Scan at most this many pairs (default 2 x maxPairs). */
  maxScan?: number;
  /** Default `dpo-prefers-chosen` (the authors'). */
  filter?: PairFilter;
  /** Default `mean`. */
  method?: ExtractMethod;
  /** Default `last` (the authors'). */
  read?: ReadPosition;
  /** 0-based component for `pc` (default 0). */
  component?: number;
  /** Per-sample store cap (default 2000; the first kept pairs). */
  spectralSamples?: number;
  /** Layers stored per sample (default: all when cap x dim x 2 bytes x layers < 1 GB, else the upper half). */
  spectralLayers?: number[];
  /** Pairs per chunk (default 8: 16 conversations per model pass). */
  batch?: number;
  /** Merged first into the vector file's provenance (the CLI's model paths, hashes, dataset, prompt format). */
  provenance?: Record<string, unknown>;
  /** Called after every chunk. */
  onProgress?: (p: { scanned: number; kept: number; elapsedMs: number }) => void;
}

/** The filter's counts (diagnostics.filter). scanned = kept + skipped_* + rejected_by_filter. */
export interface FilterCounts {
  name: PairFilter;
  scanned: number;
  kept: number;
  skipped_too_long: number;
  skipped_empty_answer: number;
  rejected_by_filter: number;
}

export interface LayerDiagnostics {
  layer: number;
  hook: string;
  vector_norm: number;
  /** Mean over kept pairs of ||h_SFT|| at the last token of prompt + chosen (the scale lambda multiplies against). */
  mean_residual_norm: number;
  mean_residual_norm_dpo: number;
  cos_states_chosen: number | null;
  cos_states_rejected: number | null;
  cos_chosen_rejected: number | null;
  split_half_cosine: number | null;
  /** From the per-sample store (f16 values) against the mean difference; null for layers not stored. */
  sample_cosine: Distribution | null;
}

/** NAME.diagnostics.json (the report renders it; the names are a contract). */
export interface ExtractDiagnostics {
  pairs: number;
  filter: FilterCounts;
  method: ExtractMethod;
  component: number | null;
  read: ReadPosition;
  sample_cosine_source: string;
  layers: LayerDiagnostics[];
}

export interface Extraction {
  /** One f32 vector per layer, `blocks.{l}.hook_resid_post` (for `pc`, the stored layers only). */
  vectors: Map<string, Float32Array>;
  diagnostics: ExtractDiagnostics;
  samples: SampleStore;
  /** The vector file's `dsteer.provenance`. */
  provenance: Record<string, unknown>;
}

const DEFAULT_STORE_BYTES = 1e9;
/** Texts both tokenizers must encode alike before extraction starts (every pair is checked too). */
export const TOKENIZER_PROBES = ['Hello there.', 'How do I fix a bike?', '\n\nHuman: hi\n\nAssistant: hello'];
const CONFIG_FIELDS_IGNORED = new Set<keyof ModelConfig>(['torchDtype']);

/**
 * Refuses an SFT/DPO pair whose configs (every field but the informational dtype) or tokenizers
 * differ, naming the field; `probes` are texts both tokenizers must encode alike.
 * @example
 * checkSamePair({ model, tokenizer }, { model, tokenizer }, ['<5> <9>']); // the same model twice: fine
 * let err;
 * try { checkSamePair({ model, tokenizer }, { model: { ...model, cfg: { ...model.cfg, nHeads: 8 } }, tokenizer }, []); } catch (e) { err = e; }
 * assert(err instanceof DsteerError && err.message.includes('config field "nHeads"'));
 */
export function checkSamePair(sft: ExtractModel, dpo: ExtractModel, probes: string[]): void {
  const a = sft.model.cfg as unknown as Record<string, unknown>;
  const b = dpo.model.cfg as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(a), ...Object.keys(b)])) {
    if (CONFIG_FIELDS_IGNORED.has(key as keyof ModelConfig)) continue;
    const x = JSON.stringify(a[key]);
    const y = JSON.stringify(b[key]);
    if (x !== y) throw new DsteerError(`SFT ${sft.model.name} and DPO ${dpo.model.name} differ in config field "${key}" (${x} vs ${y}); extraction needs two checkpoints of one architecture`);
  }
  const diff = sameTokenization(sft.tokenizer, dpo.tokenizer, probes);
  if (diff) throw new DsteerError(`${diff}; extraction needs SFT and DPO to tokenize alike`);
}

/** The layers stored per sample by default: all when the store stays under ~1 GB, else the upper half. */
export function defaultSpectralLayers(nLayers: number, dim: number, cap: number): number[] {
  const all = Array.from({ length: nLayers }, (_, l) => l);
  return cap * dim * 2 * nLayers < DEFAULT_STORE_BYTES ? all : all.slice(Math.floor(nLayers / 2));
}

interface Encoded {
  ids: number[];
  promptLen: number;
}

/** One conversation's result from a model pass: last-token state per layer, answer log-likelihood. */
interface Run {
  states: Float32Array[];
  ll: number;
  tokens: number;
}

/** Runs one side over conversations: last-token captures at every hook_resid_post, and answer log-likelihoods when asked. */
async function runSide(side: ExtractModel, convs: Encoded[], hooks: string[], withLogits: boolean, read: ReadPosition): Promise<Run[]> {
  const runs: Run[] = convs.map((c) => ({ states: [], ll: 0, tokens: c.ids.length - c.promptLen }));
  const seqs = convs.map((c) => {
    const at = read === 'prompt-end' ? c.promptLen - 1 : c.ids.length - 1;
    const q: FeedSequence = { ids: c.ids, capture: { from: at, to: at + 1 } };
    // log p(ids[t]) is read from position t - 1's log-softmax, for t = promptLen .. len - 1 (as score() does)
    if (withLogits) q.logits = { from: c.promptLen - 1, to: c.ids.length - 1 };
    if (side.steering) q.steer = side.steering.steer;
    return q;
  });
  const opts: FeedOptions = {
    hooks,
    logSoftmax: true,
    maxBatch: seqs.length,
    onCapture: (i, _p, caps) => {
      runs[i]!.states = hooks.map((h) => caps.get(h)!.slice());
    },
    onLogits: (i, p, row) => {
      runs[i]!.ll += row[convs[i]!.ids[p + 1]!]!;
    },
  };
  if (side.steering) opts.steering = side.steering.setup;
  await feed(side.model, seqs, opts);
  return runs;
}

function keeps(filter: PairFilter, dC: Run, dR: Run, sC: Run | undefined, sR: Run | undefined): boolean {
  switch (filter) {
    case 'none':
      return true;
    case 'dpo-prefers-chosen':
      return dC.ll >= dR.ll;
    case 'mean-logprob':
      return dC.ll / dC.tokens >= dR.ll / dR.tokens;
    case 'dpo-reward':
      return dC.ll - sC!.ll - (dR.ll - sR!.ll) > 0;
  }
}

function checkLayers(layers: number[], nLayers: number): void {
  const seen = new Set<number>();
  for (const l of layers) {
    if (!Number.isInteger(l) || l < 0 || l >= nLayers) throw new DsteerError(`--spectral-layers: ${l} is not a layer of the model (0..${nLayers - 1})`, 2);
    if (seen.has(l)) throw new DsteerError(`--spectral-layers: layer ${l} is listed twice`, 2);
    seen.add(l);
  }
}

/**
 * Extracts D-STEER vectors from an SFT model and its DPO sibling over streamed preference pairs.
 * @example
 * const pairs = async function* () {
 *   yield { prompt: { text: '<1> <5>' }, chosen: ' <9> <13>', rejected: ' <20>' };
 *   yield { prompt: { text: '<1> <7>' }, chosen: ' <30>', rejected: ' <31> <32>' };
 * };
 * const side = { model, tokenizer };
 * const x = await extractVectors(side, side, pairs(), { maxPairs: 2, filter: 'none' });
 * // the same model on both sides: every difference is exactly zero
 * assert(x.diagnostics.pairs === 2 && x.vectors.size === 3);
 * assert(x.vectors.get('blocks.2.hook_resid_post').every((v) => v === 0));
 */
export async function extractVectors(sft: ExtractModel, dpo: ExtractModel, pairs: AsyncIterable<PreferencePair>, opts: ExtractOptions): Promise<Extraction> {
  const t0 = performance.now();
  const filter = opts.filter ?? 'dpo-prefers-chosen';
  const method = opts.method ?? 'mean';
  const read = opts.read ?? 'last';
  const component = opts.component ?? 0;
  if (!Number.isInteger(opts.maxPairs) || opts.maxPairs < 1) throw new DsteerError(`--max-pairs: ${opts.maxPairs} must be an integer >= 1`, 2);
  const maxScan = opts.maxScan ?? 2 * opts.maxPairs;
  if (!Number.isInteger(maxScan) || maxScan < 1) throw new DsteerError(`--max-scan: ${maxScan} must be an integer >= 1`, 2);
  if (!Number.isInteger(component) || component < 0) throw new DsteerError(`--component: ${component} must be an integer >= 0`, 2);
  const batch = opts.batch ?? 8;
  if (!Number.isInteger(batch) || batch < 1) throw new DsteerError(`--batch: ${batch} must be an integer >= 1`, 2);
  checkSamePair(sft, dpo, TOKENIZER_PROBES);
  const { nLayers, dim } = sft.model.cfg;
  const cap = Math.min(opts.spectralSamples ?? 2000, opts.maxPairs);
  if (!Number.isInteger(cap) || cap < 0) throw new DsteerError(`--spectral-samples: ${opts.spectralSamples} must be an integer >= 0`, 2);
  if (method === 'pc' && cap < 2) throw new DsteerError(`--method pc needs at least 2 stored samples (--spectral-samples and --max-pairs >= 2; got ${cap})`, 2);
  const storeLayers = opts.spectralLayers ?? defaultSpectralLayers(nLayers, dim, cap);
  checkLayers(storeLayers, nLayers);
  const hooks = Array.from({ length: nLayers }, (_, l) => hookName({ site: 'resid_post', layer: l }));
  const sums = Array.from({ length: nLayers }, () => new LayerSums(dim));
  const store = new SampleStore(cap, [...storeLayers].sort((x, y) => x - y), dim);
  const limit = Math.min(sft.model.cfg.maxContext, dpo.model.cfg.maxContext);
  const counts: FilterCounts = { name: filter, scanned: 0, kept: 0, skipped_too_long: 0, skipped_empty_answer: 0, rejected_by_filter: 0 };
  const dpoNeedsLogits = filter !== 'none';
  const sftNeedsLogits = filter === 'dpo-reward';

  const encode = (p: PreferencePair, which: 'chosen' | 'rejected', index: number): Encoded => {
    const e = sft.tokenizer.encodePromptContinuation(p.prompt, p[which]);
    const f = dpo.tokenizer.encodePromptContinuation(p.prompt, p[which]);
    if (e.promptLen !== f.promptLen || e.ids.length !== f.ids.length || e.ids.some((id, i) => id !== f.ids[i])) {
      throw new DsteerError(`pair ${index} (${which}): the SFT and DPO tokenizers give different ids; extraction needs them to tokenize alike`);
    }
    return e;
  };

  const processChunk = async (chunk: PreferencePair[], first: number): Promise<void> => {
    const ok: { c: Encoded; r: Encoded }[] = [];
    chunk.forEach((p, k) => {
      const c = encode(p, 'chosen', first + k);
      const r = encode(p, 'rejected', first + k);
      if (c.ids.length > limit || r.ids.length > limit) counts.skipped_too_long++;
      else if (c.ids.length === c.promptLen || r.ids.length === r.promptLen) counts.skipped_empty_answer++;
      else ok.push({ c, r });
    });
    if (ok.length === 0) return;
    const convs = ok.flatMap((e) => [e.c, e.r]);
    const d = await runSide(dpo, convs, hooks, dpoNeedsLogits, read);
    let s = sftNeedsLogits ? await runSide(sft, convs, hooks, true, read) : null;
    const kept: number[] = [];
    ok.forEach((_, i) => {
      if (keeps(filter, d[2 * i]!, d[2 * i + 1]!, s?.[2 * i], s?.[2 * i + 1])) kept.push(i);
      else counts.rejected_by_filter++;
    });
    if (kept.length === 0) return;
    let at = (i: number): number => i; // index of pair i's chosen run in s, /2
    if (!s) {
      s = await runSide(sft, kept.flatMap((i) => [convs[2 * i]!, convs[2 * i + 1]!]), hooks, false, read);
      const pos = new Map(kept.map((i, j) => [i, j]));
      at = (i) => pos.get(i)!;
    }
    for (const i of kept) {
      const [dC, dR, sC, sR] = [d[2 * i]!, d[2 * i + 1]!, s[2 * at(i)]!, s[2 * at(i) + 1]!];
      for (let l = 0; l < nLayers; l++) sums[l]!.add(counts.kept, sC.states[l]!, dC.states[l]!, sR.states[l]!, dR.states[l]!);
      if (store.open) {
        for (const l of store.layers) store.put(l, sC.states[l]!, dC.states[l]!);
        store.commit();
      }
      counts.kept++;
    }
  };

  let chunk: PreferencePair[] = [];
  const want = (): number => Math.min(batch, opts.maxPairs - counts.kept, maxScan - counts.scanned);
  if (want() > 0) {
    for await (const p of pairs) {
      chunk.push(p);
      if (chunk.length < want()) continue;
      const first = counts.scanned;
      counts.scanned += chunk.length;
      await processChunk(chunk, first);
      chunk = [];
      opts.onProgress?.({ scanned: counts.scanned, kept: counts.kept, elapsedMs: performance.now() - t0 });
      if (want() <= 0) break;
    }
  }
  if (chunk.length > 0) {
    const first = counts.scanned;
    counts.scanned += chunk.length;
    await processChunk(chunk, first);
    opts.onProgress?.({ scanned: counts.scanned, kept: counts.kept, elapsedMs: performance.now() - t0 });
  }
  if (counts.kept === 0) {
    throw new DsteerError(
      `no pair kept: ${counts.scanned} scanned, ${counts.skipped_too_long} longer than the context (${limit} tokens), ${counts.skipped_empty_answer} with an empty answer, ${counts.rejected_by_filter} rejected by filter ${filter} (try --filter mean-logprob, dpo-reward or none, or a larger --max-scan)`,
    );
  }
  return finish(sums, store, counts, { method, component, filter, read, provenance: opts.provenance ?? {} });
}

/**
 * Component k (0-based) of the centred rows `rows` (n x d), sign-aligned so its dot product with
 * `mean` is positive and rescaled to ||mean||; `flipped` says whether the SVD's sign was reversed.
 * @example
 * // samples spread along (1, 2); their mean points the other way, so the component is flipped
 * const rows = new Float64Array([-1.5, -3, 0.5, 1]); // mean (-0.5, -1) +- (1, 2)
 * const r = pcVector(rows, 2, 2, new Float64Array([-0.5, -1]), 0, 'layer 0');
 * assert(r.flipped && Math.abs(r.v[0] + 0.5) < 1e-6 && Math.abs(r.v[1] + 1) < 1e-6);
 */
export function pcVector(
  rows: Float64Array,
  n: number,
  d: number,
  mean: Float64Array,
  k: number,
  what: string,
): { v: Float32Array; flipped: boolean; singularValue: number; cosWithMean: number | null } {
  // the centred matrix has rank <= n - 1: components beyond it are not defined by the data
  if (k >= Math.min(n - 1, d)) throw new DsteerError(`--component ${k}: ${what} has ${n} stored samples of dim ${d}, so components 0..${Math.min(n - 1, d) - 1} exist (raise --spectral-samples or --max-pairs)`, 2);
  const { singularValues, rightVectors } = svdSpectrum(rows, n, d, { centre: true, vectors: k + 1 });
  const u = rightVectors[k]!;
  if (!(singularValues[k]! > 0) || norm(u) === 0) throw new DsteerError(`--component ${k}: ${what}: the centred samples have singular value 0 there, so the component is not determined`);
  let dot = 0;
  for (let i = 0; i < d; i++) dot += u[i]! * mean[i]!;
  const flipped = dot < 0;
  const scale = (flipped ? -1 : 1) * norm(mean);
  const v = new Float32Array(d);
  for (let i = 0; i < d; i++) v[i] = u[i]! * scale;
  return { v, flipped, singularValue: singularValues[k]!, cosWithMean: cosine(v, mean) };
}

function finish(
  sums: LayerSums[],
  store: SampleStore,
  counts: FilterCounts,
  o: { method: ExtractMethod; component: number; filter: PairFilter; read: ReadPosition; provenance: Record<string, unknown> },
): Extraction {
  const vectors = new Map<string, Float32Array>();
  const layers: LayerDiagnostics[] = [];
  const provLayers: Record<string, unknown>[] = [];
  sums.forEach((s, l) => {
    const hook = hookName({ site: 'resid_post', layer: l });
    const mean = s.mean(s.diffChosen);
    const stored = store.data.has(l) && store.count > 0;
    const prov: Record<string, unknown> = { layer: l };
    if (o.method === 'mean') vectors.set(hook, Float32Array.from(mean));
    else if (stored) {
      const pc = pcVector(Float64Array.from(store.rowsF32(l)), store.count, store.dim, mean, o.component, `layer ${l}`);
      vectors.set(hook, pc.v);
      Object.assign(prov, { flipped: pc.flipped, singular_value: pc.singularValue, cos_with_mean: pc.cosWithMean });
    }
    let sample: Distribution | null = null;
    if (stored) {
      const rows = store.rowsF32(l);
      const cos: number[] = [];
      for (let i = 0; i < store.count; i++) {
        const c = cosine(rows.subarray(i * s.dim, (i + 1) * s.dim), mean);
        if (c !== null) cos.push(c);
      }
      sample = summarise(cos);
    }
    const v = vectors.get(hook);
    const diag: LayerDiagnostics = {
      layer: l,
      hook,
      vector_norm: v ? norm(v) : norm(mean),
      mean_residual_norm: s.normSft / s.n,
      mean_residual_norm_dpo: s.normDpo / s.n,
      cos_states_chosen: cosine(s.dpoChosen, s.sftChosen),
      cos_states_rejected: cosine(s.dpoRejected, s.sftRejected),
      cos_chosen_rejected: cosine(s.diffChosen, s.diffRejected),
      split_half_cosine: s.nEven > 0 && s.nOdd > 0 ? cosine(s.diffEven, s.diffOdd) : null,
      sample_cosine: sample,
    };
    layers.push(diag);
    if (v) provLayers.push({ ...prov, vector_norm: diag.vector_norm, mean_residual_norm: diag.mean_residual_norm });
  });
  const diagnostics: ExtractDiagnostics = {
    pairs: counts.kept,
    filter: counts,
    method: o.method,
    component: o.method === 'pc' ? o.component : null,
    read: o.read,
    sample_cosine_source: `cosine of each stored sample's chosen difference (f16, the first ${store.count} kept pairs) with the layer's mean difference`,
    layers,
  };
  const provenance: Record<string, unknown> = {
    ...o.provenance,
    pairs: { scanned: counts.scanned, kept: counts.kept, skipped_too_long: counts.skipped_too_long, skipped_empty_answer: counts.skipped_empty_answer, rejected_by_filter: counts.rejected_by_filter },
    filter: o.filter,
    read_position: o.read === 'last' ? 'last token, hook_resid_post' : 'last prompt token, hook_resid_post',
    difference: o.read === 'last' ? 'h_DPO - h_SFT on prompt + chosen, averaged over kept pairs' : 'h_DPO - h_SFT at the last prompt token (the same for chosen and rejected), averaged over kept pairs',
    method: o.method,
    component: o.method === 'pc' ? o.component : null,
    sign_alignment:
      o.method === 'pc'
        ? 'component of the centred per-sample differences, oriented so its dot product with the mean difference is > 0, rescaled to the mean difference norm'
        : 'none needed (mean difference)',
    spectral_samples: { count: store.count, cap: store.cap, layers: store.layers },
    layers: provLayers,
  };
  return { vectors, diagnostics, samples: store, provenance };
}

/** `dsteer.samples` metadata of NAME.samples.safetensors. */
export interface SamplesMeta {
  count: number;
  cap: number;
  layers: number[];
  pairs: number;
}

export const SAMPLES_KEY = 'dsteer.samples';

/**
 * NAME.samples.safetensors: per stored layer an F16 tensor `blocks.{l}.hook_resid_post` of shape
 * [count, dim] (h_DPO - h_SFT on chosen conversations at the last token, the first `count` kept
 * pairs); `__metadata__`: `dsteer.format` = "1", `dsteer.samples` = JSON SamplesMeta.
 * @example
 * const st = new SampleStore(4, [1], 2);
 * st.put(1, new Float32Array([0, 0]), new Float32Array([1, -2])); st.commit();
 * const { tensors, metadata } = await readSafetensorsHeader(new MemorySource('s.safetensors', encodeSamplesFile(st, 9)));
 * assert(tensors.get('blocks.1.hook_resid_post').shape.join() === '1,2');
 * assert(JSON.parse(metadata['dsteer.samples']).pairs === 9);
 */
export function encodeSamplesFile(store: SampleStore, pairs: number): Uint8Array {
  const meta: SamplesMeta = { count: store.count, cap: store.cap, layers: store.layers, pairs };
  const tensors = store.layers.map((l) => ({ name: hookName({ site: 'resid_post', layer: l }), dtype: 'F16' as const, shape: [store.count, store.dim], data: store.rowsF32(l) }));
  return encodeSafetensors(tensors, { [FORMAT_KEY]: FORMAT_VERSION, [SAMPLES_KEY]: JSON.stringify(meta) });
}
