/**
 * A byte-level BPE trainer (GPT-2 / Llama-3 style), written for the micro world's ~1k vocabulary.
 * The files it writes (train/bpe-files.ts) load through models/tokenizer.ts like any Hugging Face
 * tokenizer, so the model we train is read by the same code as a downloaded one.
 *
 * How it trains:
 * - Special tokens are cut out of the corpus first (as the tokenizer does at encode time), so no
 *   merge ever crosses or builds one.
 * - Each remaining piece is split with the GPT-2 regex, the one @huggingface/tokenizers 0.2.0's
 *   `ByteLevel` pre-tokenizer hard-codes (`use_regex: true`), and each word becomes its UTF-8 bytes.
 *   Byte b is written as GPT-2's printable stand-in character (`BYTE_TO_CHAR`, e.g. ' ' -> 'Ġ').
 * - Words are counted by type; pair counts are kept per type x count. Each merge replaces the best
 *   pair only in the words that contain it (an index pair -> words) and updates the counts of the
 *   neighbouring pairs in place; a max-heap with lazy deletion finds the next best pair: every pair
 *   whose count rises (they all contain the new symbol) is pushed again, and a popped entry whose
 *   count is stale is re-pushed with its current count.
 * - Ties: the higher count wins, then the pair whose left token string is smaller (JS string
 *   order), then the smaller right token string. No randomness: the same corpus (in the same order
 *   or not: counts do not depend on order) gives the same merges.
 *
 * Ids: the special tokens first (0..k-1, in the order given, as Hugging Face's BpeTrainer does),
 * then the 256 bytes in byte order (byte b is id k + b), then one id per new token, in merge order
 * (nearly always one per merge; see `trainBpe`).
 * `vocabSize` counts all three. Training stops early, with fewer ids, when no pair occurs at least
 * `minFrequency` times (`stopReason: 'min-frequency'`) or no pair is left at all (every word is one
 * token: `'exhausted'`).
 */
import { DsteerError } from '../engine/errors.js';

/** A trained byte-level BPE model: everything the tokenizer files are written from. */
export interface BpeModel {
  /** Token string of each id: special tokens, the 256 byte characters, then one per merge. */
  vocab: string[];
  /** Merges in rank order, as byte-level strings (a merge whose result already exists adds no id). */
  merges: [string, string][];
  /** The special tokens (ids 0..k-1). */
  specialTokens: string[];
  /** What training was asked for and what stopped it. */
  stats: BpeStats;
}

export interface BpeStats {
  requestedVocabSize: number;
  minFrequency: number;
  seed: number;
  /** Pre-tokenized words in the corpus, and distinct ones. */
  words: number;
  wordTypes: number;
  /** Count of the last merge made (0 when none). */
  lastMergeCount: number;
  stopReason: 'vocab-size' | 'min-frequency' | 'exhausted';
}

export interface BpeOptions {
  /** Special tokens + 256 bytes + merges. At least specialTokens.length + 256. */
  vocabSize: number;
  /** Added tokens, never merged into; ids 0..k-1 in this order. */
  specialTokens: string[];
  /** Recorded in stats only: the trainer makes no random choices (ties are broken by a fixed rule). */
  seed?: number;
  /** A pair must occur at least this often to be merged (default 2: a count-1 merge only memorises). */
  minFrequency?: number;
}

/** GPT-2's byte -> printable character table (the one ByteLevel pre-tokenizers and decoders use). */
export const BYTE_TO_CHAR: readonly string[] = (() => {
  const keep: number[] = [];
  for (let b = 0x21; b <= 0x7e; b++) keep.push(b);
  for (let b = 0xa1; b <= 0xac; b++) keep.push(b);
  for (let b = 0xae; b <= 0xff; b++) keep.push(b);
  const out = new Array<string>(256);
  let n = 0;
  for (let b = 0; b < 256; b++) out[b] = String.fromCharCode(keep.includes(b) ? b : 256 + n++);
  return out;
})();

/** The GPT-2 split, identical to @huggingface/tokenizers 0.2.0's ByteLevel pattern. */
const GPT2_SPLIT = /'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+/gu;

const MAX_SYMBOLS = 1 << 20;
const pairKey = (a: number, b: number): number => a * MAX_SYMBOLS + b;

/** Heap entry: a pair and the count it had when pushed. */
interface Entry {
  count: number;
  a: number;
  b: number;
}

/** A binary max-heap ordered by count, then (str[a], str[b]) ascending. */
class PairHeap {
  private items: Entry[] = [];
  constructor(private readonly str: string[]) {}
  get size(): number {
    return this.items.length;
  }
  private before(x: Entry, y: Entry): boolean {
    if (x.count !== y.count) return x.count > y.count;
    const [xa, ya] = [this.str[x.a]!, this.str[y.a]!];
    if (xa !== ya) return xa < ya;
    return this.str[x.b]! < this.str[y.b]!;
  }
  push(e: Entry): void {
    const h = this.items;
    h.push(e);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (!this.before(h[i]!, h[p]!)) break;
      [h[i], h[p]] = [h[p]!, h[i]!];
      i = p;
    }
  }
  pop(): Entry | undefined {
    const h = this.items;
    const top = h[0];
    const last = h.pop();
    if (h.length > 0 && last !== undefined) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.before(h[l]!, h[m]!)) m = l;
        if (r < h.length && this.before(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m]!, h[i]!];
        i = m;
      }
    }
    return top;
  }
}

function escapeRegex(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** Corpus -> word type (byte symbols) -> count, with special tokens cut out first. */
function countWords(corpus: Iterable<string>, specialTokens: string[]): { types: Map<string, number>; words: number } {
  const specials = [...specialTokens].sort((x, y) => y.length - x.length).map(escapeRegex);
  const cut = specials.length > 0 ? new RegExp(specials.join('|'), 'u') : null;
  const types = new Map<string, number>();
  let words = 0;
  for (const doc of corpus) {
    for (const piece of cut ? doc.split(cut) : [doc]) {
      for (const m of piece.matchAll(GPT2_SPLIT)) {
        types.set(m[0], (types.get(m[0]) ?? 0) + 1);
        words++;
      }
    }
  }
  return { types, words };
}

function checkOptions(opts: BpeOptions): void {
  const k = opts.specialTokens.length;
  if (!Number.isInteger(opts.vocabSize) || opts.vocabSize < k + 256 || opts.vocabSize > MAX_SYMBOLS) {
    throw new DsteerError(`trainBpe: vocabSize ${opts.vocabSize} must be an integer from ${k + 256} (${k} special tokens + 256 bytes) to ${MAX_SYMBOLS}`);
  }
  const seen = new Set<string>();
  for (const t of opts.specialTokens) {
    if (t.length === 0 || seen.has(t)) throw new DsteerError(`trainBpe: special token ${JSON.stringify(t)} is empty or listed twice`);
    seen.add(t);
  }
  const mf = opts.minFrequency ?? 2;
  if (!Number.isInteger(mf) || mf < 1) throw new DsteerError(`trainBpe: minFrequency ${mf} must be an integer >= 1`);
}

/**
 * Trains a byte-level BPE model (see the file header for the algorithm, ids and tie rule).
 * @example
 * const m = trainBpe(['low lower lowest', 'low low'], { vocabSize: 260, specialTokens: ['<|end|>'] });
 * assert(m.vocab.length === 260 && m.vocab[0] === '<|end|>' && m.vocab[1 + 32] === 'Ġ');
 * assert(m.merges[0]!.join(' ') === 'l o'); // "low" in 4 words: l-o ties o-w and wins on "l" < "o"
 */
export function trainBpe(corpus: Iterable<string>, opts: BpeOptions): BpeModel {
  checkOptions(opts);
  const minFrequency = opts.minFrequency ?? 2;
  const k = opts.specialTokens.length;
  const vocab: string[] = [...opts.specialTokens, ...BYTE_TO_CHAR];
  const specialSet = new Set(opts.specialTokens);
  const tokenId = new Map(vocab.map((t, i) => [t, i]));
  const { types, words } = countWords(corpus, opts.specialTokens);

  // Word types as symbol arrays (symbol = vocab id), sorted so the index order is fixed.
  const encoder = new TextEncoder();
  const wordText = [...types.keys()].sort();
  const wordSyms: number[][] = wordText.map((w) => Array.from(encoder.encode(w), (b) => k + b));
  const wordCount: number[] = wordText.map((w) => types.get(w)!);

  const pairCount = new Map<number, number>();
  const pairWords = new Map<number, Set<number>>();
  const add = (a: number, b: number, n: number, w: number): void => {
    const key = pairKey(a, b);
    pairCount.set(key, (pairCount.get(key) ?? 0) + n);
    if (n > 0) {
      let s = pairWords.get(key);
      if (!s) pairWords.set(key, (s = new Set()));
      s.add(w);
    }
  };
  wordSyms.forEach((syms, w) => {
    for (let i = 0; i + 1 < syms.length; i++) add(syms[i]!, syms[i + 1]!, wordCount[w]!, w);
  });

  // Replaces every (a, b) in one word, left to right, moving the neighbouring pairs' counts to c.
  function mergeInWord(syms: number[], n: number, w: number, a: number, b: number, c: number): void {
    for (let i = 0; i + 1 < syms.length; i++) {
      if (syms[i] !== a || syms[i + 1] !== b) continue;
      if (i > 0) {
        add(syms[i - 1]!, a, -n, w);
        add(syms[i - 1]!, c, n, w);
        touched.add(pairKey(syms[i - 1]!, c));
      }
      if (i + 2 < syms.length) {
        add(b, syms[i + 2]!, -n, w);
        add(c, syms[i + 2]!, n, w);
        touched.add(pairKey(c, syms[i + 2]!));
      }
      add(a, b, -n, w);
      syms.splice(i, 2, c);
    }
  }

  const heap = new PairHeap(vocab);
  for (const [key, count] of pairCount) heap.push({ count, a: Math.floor(key / MAX_SYMBOLS), b: key % MAX_SYMBOLS });

  const merges: [string, string][] = [];
  const touched = new Set<number>();
  let stopReason: BpeStats['stopReason'] = 'vocab-size';
  let lastMergeCount = 0;
  while (vocab.length < opts.vocabSize) {
    const top = heap.pop();
    if (top === undefined) {
      stopReason = 'exhausted';
      break;
    }
    const key = pairKey(top.a, top.b);
    const now = pairCount.get(key) ?? 0;
    if (now !== top.count) {
      if (now > 0) heap.push({ ...top, count: now });
      continue;
    }
    if (now < minFrequency) {
      stopReason = 'min-frequency';
      break;
    }
    const token = vocab[top.a]! + vocab[top.b]!;
    // A byte-level token cannot spell a special token (the split keeps letters apart from
    // punctuation), but refuse one anyway: it would shadow the added token.
    if (specialSet.has(token)) {
      pairCount.delete(key);
      continue;
    }
    // Two merges can spell the same string ("ab"+"c", "a"+"bc"): they share one id, as in
    // Hugging Face's trainer, and the second one adds a merge but no token.
    let c = tokenId.get(token);
    if (c === undefined) {
      c = vocab.length;
      vocab.push(token);
      tokenId.set(token, c);
    }
    merges.push([vocab[top.a]!, vocab[top.b]!]);
    lastMergeCount = now;
    touched.clear();
    for (const w of pairWords.get(key) ?? []) mergeInWord(wordSyms[w]!, wordCount[w]!, w, top.a, top.b, c);
    pairWords.delete(key);
    for (const t of touched) {
      const n = pairCount.get(t) ?? 0;
      if (n > 0) heap.push({ count: n, a: Math.floor(t / MAX_SYMBOLS), b: t % MAX_SYMBOLS });
    }
  }

  return {
    vocab,
    merges,
    specialTokens: [...opts.specialTokens],
    stats: {
      requestedVocabSize: opts.vocabSize,
      minFrequency,
      seed: opts.seed ?? 0,
      words,
      wordTypes: wordText.length,
      lastMergeCount,
      stopReason,
    },
  };
}

export { chatTemplate, toTokenizerConfig, toTokenizerJson, CHAT_TOKENS, type ChatTokens } from './bpe-files.js';
