/** The per-output metrics of scores.jsonl (docs/RUNS.md): text, refusal phrases, model-based. */
export { DIVERSITY_MIN_WORDS, MIN_CHARS, MIN_DISTINCT_RATIO, distinctN, lengths, rep4, repN, selfPerplexity, validity, words, type InvalidReason } from './text.js';
export { REFUSAL_PATTERNS, REFUSAL_WINDOW, detectRefusal } from './refusal.js';
export { cosine, likelihoodShiftRaw, normalizeShift, outputLikelihoods, pooledStates, type MetricRunOptions, type OutputItem } from './model.js';
