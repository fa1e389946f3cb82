/**
 * Text metrics of one generated output (DSTEER-SPEC.md section 4), pure functions of the text.
 *
 * Words are the lower-cased, whitespace-split pieces of the text (`/\s+/`, empty pieces dropped);
 * punctuation stays attached ("that." and "that" are different words), exactly as the spec's
 * "lower-cased whitespace-split words". Word n-grams are the runs of n consecutive words.
 *
 * - `validity`: the degenerate-output screen: `empty` (nothing but whitespace), `short` (under 10
 *   characters after trimming), `low-diversity` (more than 10 words and distinct words / words
 *   < 0.2); the first that applies is the reason.
 * - `repN` (`rep4` = repN(text, 4)): 1 - |distinct n-grams| / |n-grams|; 0 for texts of at most n
 *   words. For n = 4 that is the spec's "0 for texts under 5 words": a text needs at least two
 *   n-grams before one can repeat another.
 * - `distinctN`: |distinct n-grams| / |n-grams|; 0 for texts with no n-gram (fewer than n words).
 * - `lengths`: characters (Unicode code points of the untrimmed text) and words.
 * - `selfPerplexity`: exp(-logprob_sum / tokens) of the generating model's own log-likelihood.
 */

/** Why an output failed the validity screen (null: it passed). */
export type InvalidReason = 'empty' | 'short' | 'low-diversity';

/** Fewer trimmed characters than this is `short`. */
export const MIN_CHARS = 10;
/** Texts with more words than this are checked for diversity. */
export const DIVERSITY_MIN_WORDS = 10;
/** Distinct-word ratio below which a long enough text is `low-diversity`. */
export const MIN_DISTINCT_RATIO = 0.2;

/**
 * Lower-cased whitespace-split words.
 * @example
 * assert(words('  The cat\tsat.  ').join('|') === 'the|cat|sat.');
 */
export function words(text: string): string[] {
  return text.toLowerCase().split(/\s+/).filter((w) => w.length > 0);
}

/** The word n-grams of a word list, each joined by one space. */
function ngrams(ws: string[], n: number): string[] {
  const out: string[] = [];
  for (let i = 0; i + n <= ws.length; i++) out.push(ws.slice(i, i + n).join(' '));
  return out;
}

function checkN(n: number): void {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`n-gram order must be an integer >= 1, got ${n}`);
}

/**
 * The validity screen (DSTEER-SPEC.md section 4).
 * @example
 * assert(validity('').reason === 'empty' && validity('ok then').reason === 'short');
 * assert(validity('no no no no no no no no no no no no').reason === 'low-diversity');
 * assert(validity('the sky is blue because air scatters blue light.').valid);
 */
export function validity(text: string): { valid: boolean; reason: InvalidReason | null } {
  const t = text.trim();
  if (t.length === 0) return { valid: false, reason: 'empty' };
  if ([...t].length < MIN_CHARS) return { valid: false, reason: 'short' };
  const ws = words(t);
  if (ws.length > DIVERSITY_MIN_WORDS && new Set(ws).size / ws.length < MIN_DISTINCT_RATIO) return { valid: false, reason: 'low-diversity' };
  return { valid: true, reason: null };
}

/**
 * Word n-gram repetition: 1 - |distinct n-grams| / |n-grams|, 0 for texts of at most n words.
 * @example
 * // 6 words, 3 four-grams "a b a b", "b a b a", "a b a b": 2 distinct -> 1 - 2/3
 * assert(Math.abs(repN('a b a b a b', 4) - 1 / 3) < 1e-12);
 * assert(repN('one two three four', 4) === 0); // under 5 words
 */
export function repN(text: string, n: number): number {
  checkN(n);
  const ws = words(text);
  if (ws.length <= n) return 0;
  const g = ngrams(ws, n);
  return 1 - new Set(g).size / g.length;
}

/**
 * rep4 exactly as DSTEER-SPEC.md: repN(text, 4).
 * @example
 * assert(rep4('A b c d A b c d') === 1 - 4 / 5);
 */
export function rep4(text: string): number {
  return repN(text, 4);
}

/**
 * Distinct-n: |distinct word n-grams| / |word n-grams|, 0 when the text has no n-gram.
 * @example
 * assert(distinctN('the cat the dog', 1) === 3 / 4);
 * assert(distinctN('hello', 2) === 0);
 */
export function distinctN(text: string, n: number): number {
  checkN(n);
  const g = ngrams(words(text), n);
  return g.length === 0 ? 0 : new Set(g).size / g.length;
}

/**
 * Length in characters (Unicode code points, untrimmed) and whitespace-split words.
 * @example
 * const l = lengths('héllo  world ');
 * assert(l.chars === 13 && l.words === 2);
 */
export function lengths(text: string): { chars: number; words: number } {
  return { chars: [...text].length, words: words(text).length };
}

/**
 * Self-perplexity exp(-logprobSum / tokens); null when there are no tokens.
 * @example
 * assert(Math.abs(selfPerplexity(-2 * Math.log(4), 2)! - 4) < 1e-12);
 * assert(selfPerplexity(0, 0) === null);
 */
export function selfPerplexity(logprobSum: number, tokens: number): number | null {
  if (tokens <= 0) return null;
  return Math.exp(-logprobSum / tokens);
}
