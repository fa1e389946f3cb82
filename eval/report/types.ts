// The shape of report.json (docs/RUNS.md, "report.json") as the renderer reads it. Typed loosely on
// purpose: every part may be missing or null (an interrupted sweep, no judge, no extraction), and the
// renderer shows what exists and lists what does not. eval/aggregate.ts and eval/findings.ts produce
// the structures; this file only names them.

/** A per-lambda aggregate of one metric: mean and 95% bootstrap interval over prompts. */
export interface MetricInterval {
  mean: number | null;
  lo?: number | null;
  hi?: number | null;
}

/** AGG: `n` rows and one interval per metric (`shift`, `rep4`, `judge_quality`, ...). */
export interface Agg {
  n?: number;
  metrics?: Record<string, MetricInterval | null | undefined>;
}

/** One steered lambda of a dataset: `lambda` > 0 steers SFT, < 0 steers DPO. */
export interface LambdaAgg extends Agg {
  lambda: number;
  model?: string;
}

/** `datasets[NAME]` of report.json. */
export interface DatasetReport {
  prompts?: number;
  anchors?: { sft?: Agg | null; dpo?: Agg | null } | null;
  lambdas?: LambdaAgg[] | null;
}

/** A finding's number with its 95% bootstrap interval over prompts. */
export interface CI {
  value: number;
  lo: number;
  hi: number;
}

/** Coverage of one side: the best mean normalised shift and the lambda that reached it. */
export interface CoverageSide extends CI {
  lambda: number;
}

/** Collapse lambda of one side and the criterion that fired first. */
export interface Collapse {
  lambda: number | null;
  criterion: 'rep4' | 'validity' | 'quality' | null;
  criteria?: { rep4?: number | null; validity?: number | null; quality?: number | null } | null;
}

/** Asymmetry statistics of one side (shift versus |lambda|, anchor at |lambda| = 0 included). */
export interface Asymmetry {
  /** null when undefined (a constant curve). */
  spearman: CI | null;
  direction_changes: number;
  max_isotonic_deviation: number;
  expected: 'increasing' | 'decreasing';
}

/** Refusal rate and mean refusal length (characters) of one model or lambda. */
export interface Refusal {
  rate: CI;
  mean_chars: CI | null;
}

/** `findings[NAME]` of report.json (DSTEER-SPEC.md section 6). */
export interface DatasetFindings {
  coverage?: { positive: CoverageSide | null; negative: CoverageSide | null } | null;
  /** The same over the lambdas before that side's collapse (`limit`, null = no collapse in the grid). */
  coverage_before_collapse?: { positive: (CoverageSide & { limit: number | null }) | null; negative: (CoverageSide & { limit: number | null }) | null } | null;
  range?: CI | null;
  collapse_lambda?: { positive: Collapse | null; negative: Collapse | null } | null;
  asymmetry?: { positive: Asymmetry | null; negative: Asymmetry | null } | null;
  refusal_paradox?: { sft: Refusal | null; dpo: Refusal | null; steered: (Refusal & { lambda: number })[] } | null;
}

/** One line of `reproduces`: whether a finding of the paper shows on this run, in one sentence. */
export interface Reproduce {
  finding: string;
  dataset?: string | null;
  reproduced: boolean | null;
  sentence: string;
}

/** Summary statistics of the per-sample cosines with the extracted vector. */
export interface SampleCosine {
  n?: number;
  mean?: number;
  min?: number;
  p05?: number;
  p25?: number;
  median?: number;
  p75?: number;
  p95?: number;
  max?: number;
  histogram?: { edges: number[]; counts: number[] } | null;
}

/** One layer of the extraction diagnostics. */
export interface DiagnosticsLayer {
  layer: number;
  hook?: string;
  vector_norm?: number | null;
  mean_residual_norm?: number | null;
  cos_states_chosen?: number | null;
  cos_states_rejected?: number | null;
  cos_chosen_rejected?: number | null;
  split_half_cosine?: number | null;
  sample_cosine?: SampleCosine | null;
}

/** One layer of `dsteer spectral`. */
export interface SpectralLayer {
  layer: number;
  sigma2_over_sigma1?: number | null;
  spectral_entropy?: number | null;
  top5?: number[] | null;
  epsilon_rank?: number | null;
  alignment?: number | number[] | null;
  explained_variance?: number | number[] | null;
}

/** `extraction` of report.json. */
export interface Extraction {
  diagnostics?: {
    pairs?: number;
    filter?: Record<string, unknown> | null;
    method?: string;
    component?: number | string;
    layers?: DiagnosticsLayer[] | null;
  } | null;
  spectral?: { samples?: number; cap?: number; layers?: SpectralLayer[] | null } | null;
}

/** One generated output shown in the examples table. */
export interface ExampleOutput {
  model: string;
  lambda: number;
  text: string;
  style?: string | null;
}

/** The outputs of one prompt across models and lambdas. */
export interface ExamplePrompt {
  prompt_index: number;
  prompt: string;
  outputs: ExampleOutput[];
}

/**
 * report.json as a whole. `manifest` and `extraction` are read defensively (their producers type
 * them as unknown): fields of the wrong type are treated as missing.
 */
export interface ReportJson {
  manifest?: unknown;
  judge?: { mode?: string; note?: string | null } | null;
  extraction?: { diagnostics?: unknown; spectral?: unknown } | null;
  datasets?: Record<string, DatasetReport> | null;
  findings?: Record<string, DatasetFindings | null> | null;
  reproduces?: Reproduce[] | null;
  examples?: Record<string, ExamplePrompt[]> | null;
  /** aqi.json of `dsteer aqi --run` (eval/aqi.ts AqiResult), when the run has one. */
  aqi?: unknown;
}

/** Raw and anchored indices of one scope in one space (null where not finite). */
export interface AqiIndexSet {
  chi: number | null;
  xb: number | null;
  chi_norm: number | null;
  xb_norm: number | null;
  aqi: number | null;
}

/** One model of aqi.json: an anchor (lambda 0) or a steered model. */
export interface AqiModelEntry {
  model: 'sft' | 'dpo';
  lambda: number;
  anchor: boolean;
  scopes: Record<string, { tsne?: AqiIndexSet | null; raw?: AqiIndexSet | null }>;
  scatter?: number[];
}

/** The parts of aqi.json the report shows. */
export interface AqiPart {
  config: Record<string, unknown>;
  scopes: string[];
  points: { safe: number[]; axiom: number[] } | null;
  models: AqiModelEntry[];
  note: string | null;
}

function isRecord(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

function layersOf<T extends { layer: number }>(v: unknown): T[] | null {
  if (!isRecord(v) || !Array.isArray(v.layers)) return null;
  return v.layers.filter((l): l is T => isRecord(l) && typeof l.layer === 'number' && Number.isFinite(l.layer));
}

/**
 * The extraction part of a report, typed: diagnostics and spectral analysis as far as they have the
 * documented shape (layers without a numeric `layer` are dropped); null when the report has none.
 *
 * @example
 * const ex = extractionOf({ extraction: { diagnostics: { pairs: 3, layers: [{ layer: 2, vector_norm: 1 }, { hook: 'x' }] }, spectral: 'bad' } });
 * assert(ex.diagnostics.layers.length === 1 && ex.diagnostics.pairs === 3 && ex.spectral === null);
 * assert(extractionOf({ extraction: null }) === null);
 */
export function extractionOf(report: ReportJson): Extraction | null {
  const ex = report.extraction;
  if (!isRecord(ex)) return null;
  const d = ex.diagnostics;
  const s = ex.spectral;
  return {
    diagnostics: isRecord(d) ? { ...(d as Extraction['diagnostics']), layers: layersOf<DiagnosticsLayer>(d) } : null,
    spectral: isRecord(s) ? { ...(s as Extraction['spectral']), layers: layersOf<SpectralLayer>(s) } : null,
  };
}

/**
 * The AQI part of a report, typed: models without a numeric lambda or a model name are dropped;
 * null when the report has no aqi.json or it has no models.
 *
 * @example
 * const a = aqiOf({ aqi: { scopes: ['overall'], models: [{ model: 'sft', lambda: 0, anchor: true, scopes: { overall: { raw: { chi: 2, xb: 1 } } } }, { lambda: 'x' }] } });
 * assert(a.models.length === 1 && a.scopes[0] === 'overall' && a.points === null);
 * assert(aqiOf({}) === null && aqiOf({ aqi: { models: [] } }) === null);
 */
export function aqiOf(report: ReportJson): AqiPart | null {
  const a = report.aqi;
  if (!isRecord(a) || !Array.isArray(a.models)) return null;
  const models = a.models.filter(
    (m): m is AqiModelEntry => isRecord(m) && typeof m.lambda === 'number' && Number.isFinite(m.lambda) && (m.model === 'sft' || m.model === 'dpo') && isRecord(m.scopes),
  );
  if (models.length === 0) return null;
  const scopes = Array.isArray(a.scopes) ? a.scopes.filter((x): x is string => typeof x === 'string') : Object.keys(models[0]!.scopes);
  const p = a.points;
  const points = isRecord(p) && Array.isArray(p.safe) && Array.isArray(p.axiom) ? { safe: p.safe as number[], axiom: p.axiom as number[] } : null;
  return { config: isRecord(a.config) ? a.config : {}, scopes, points, models, note: typeof a.note === 'string' ? a.note : null };
}
