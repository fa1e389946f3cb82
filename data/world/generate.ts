/**
 * The micro world's deterministic generator (../shared/docs/MICRO-WORLD.md): phrase banks in,
 * the seven data files out, as strings (writing them is the caller's job, so data/ stays free of
 * Node-only modules). Each file draws from its own stream derived from (seed, file name), so
 * changing one file's size leaves every other file byte-identical.
 * @example
 * const files = generateWorld({ seed: 1, sizes: NANO_SIZES });
 * const first = JSON.parse(files['micro-sft.jsonl'].split('\n')[0]!);
 * assert(first.messages.at(-1).role === 'assistant');
 */
import { Rng } from '../../engine/rng.js';
import { DsteerError } from '../../engine/errors.js';
import {
  ACADEMIC_FRAMES, AXIOMS, BENIGN, BLUNT, BORDERLINE, COMPLY_FILLER, COMPLY_OPENERS, DETAILED_CLOSERS, DETAILED_EXPLAIN_OPENERS,
  DETAILED_PROSE_FRAMES, DETAILED_STEP_OPENERS, FOLLOW_UPS, GIBBERISH, HARMFUL, JAILBREAK_FRAMES, NUANCED_ALT_FRAMES, NUANCED_GENERAL,
  NUANCED_OPENERS, NUANCED_REASON_FRAMES, RUDE, SAFETY_FRAMES, TERSE_FRAMES,
  type Axiom, type HarmItem, type HelpItem, type PromptKind, type Style,
} from './banks.js';

/** How many items each file holds. `litmus` is per (axiom, label) cell: 7 x 2 x litmus rows. */
export interface WorldSizes {
  sft: number;
  dpo: number;
  hhTrain: number;
  hhTest: number;
  harmfulqa: number;
  advbench: number;
  litmus: number;
}

/** Sizes for the micro model (~0.5M parameters, ~1k BPE vocabulary). */
export const DEFAULT_SIZES: WorldSizes = { sft: 6000, dpo: 3000, hhTrain: 800, hhTest: 300, harmfulqa: 200, advbench: 200, litmus: 50 };
/** Sizes for tests and the nano model: tens of items. */
export const NANO_SIZES: WorldSizes = { sft: 40, dpo: 20, hhTrain: 12, hhTest: 8, harmfulqa: 10, advbench: 10, litmus: 3 };

export const WORLD_FILE_NAMES = [
  'micro-sft.jsonl', 'micro-dpo.jsonl', 'micro-hh.train.jsonl', 'micro-hh.test.jsonl',
  'micro-harmfulqa.json', 'micro-advbench.csv', 'micro-litmus.csv',
] as const;
export type WorldFileName = (typeof WORLD_FILE_NAMES)[number];
export type WorldFiles = Record<WorldFileName, string>;

export interface Message { role: 'user' | 'assistant'; content: string }
/** A response with the style and bank item it was made from. */
export interface StyledText { text: string; style: Style; item: string }
/** A prompt: earlier turns (their assistant styles in `earlier`) and the last user message. */
export interface Prompt { kind: PromptKind; item: string; topic: string; turns: Message[]; earlier: StyledText[] }
export interface SftItem { prompt: Prompt; response: StyledText }
export interface PairItem { prompt: Prompt; chosen: StyledText; rejected: StyledText }
export interface HarmfulQaRow { id: number; topic: string; subtopic: string; question: string; item: string }
export interface AdvBenchRow { goal: string; target: string; item: string; wrapped: boolean }
export interface LitmusRow { input: string; axiom: Axiom; safety_label: 'safe' | 'unsafe'; item: string }
/** Every file's items with their metadata (prompt kind, styles, bank item). */
export interface WorldItems {
  sft: SftItem[];
  dpo: PairItem[];
  hhTrain: PairItem[];
  hhTest: PairItem[];
  harmfulqa: HarmfulQaRow[];
  advbench: AdvBenchRow[];
  litmus: LitmusRow[];
}

/** Prompt-kind mix of each conversational file, and the SFT style mix per kind (MICRO-WORLD.md). */
export const SFT_KIND_MIX: Record<PromptKind, number> = { benign: 0.45, borderline: 0.15, harmful: 0.15, academic: 0.1, jailbreak: 0.15 };
export const PAIR_KIND_MIX: Record<PromptKind, number> = { benign: 0.3, borderline: 0.2, harmful: 0.2, academic: 0.1, jailbreak: 0.2 };
/**
 * The HH-RLHF analog (micro-hh.*): everyday conversation, borderline requests and red-team requests,
 * as in Anthropic's helpful and harmless sets, but no jailbreak wrappers: those are AdvBench's
 * analog (micro-advbench). Same pair recipe as the DPO pairs, different prompt mix.
 */
export const HH_KIND_MIX: Record<PromptKind, number> = { benign: 0.4, borderline: 0.3, harmful: 0.2, academic: 0.1, jailbreak: 0 };
export const SFT_STYLE_MIX: Record<PromptKind, Partial<Record<Style, number>>> = {
  benign: { 'helpful-terse': 0.8, 'helpful-detailed': 0.2 },
  borderline: { 'refusal-blunt': 0.6, 'helpful-detailed': 0.25, 'helpful-terse': 0.15 },
  harmful: { 'refusal-blunt': 0.8, 'refusal-nuanced': 0.2 },
  academic: { 'refusal-blunt': 0.8, 'refusal-nuanced': 0.2 },
  jailbreak: { 'compliance-harmful': 0.5, 'refusal-blunt': 0.4, 'refusal-nuanced': 0.1 },
};
/** Share of rejected answers that are compliance-harmful (the rest refusal-blunt) for harmful kinds. */
export const PAIR_REJECT_COMPLY: Record<'harmful' | 'academic' | 'jailbreak', number> = { harmful: 0.4, academic: 0.4, jailbreak: 0.6 };

/**
 * The world's files as strings, keyed by file name.
 * @example
 * const a = generateWorld({ seed: 7, sizes: NANO_SIZES });
 * assert(a['micro-advbench.csv'].startsWith('goal,target\n'));
 */
export function generateWorld(opts: { seed: number; sizes?: Partial<WorldSizes> }): WorldFiles {
  const w = generateWorldItems(opts);
  const jsonl = (rows: unknown[]): string => rows.map((r) => JSON.stringify(r) + '\n').join('');
  const hh = (rows: PairItem[]): string => jsonl(rows.map((p) => ({
    chosen: hhTranscript([...p.prompt.turns, { role: 'assistant', content: p.chosen.text }]),
    rejected: hhTranscript([...p.prompt.turns, { role: 'assistant', content: p.rejected.text }]),
  })));
  return {
    'micro-sft.jsonl': jsonl(w.sft.map((s) => ({ messages: [...s.prompt.turns, { role: 'assistant', content: s.response.text }] }))),
    'micro-dpo.jsonl': jsonl(w.dpo.map((p) => ({
      prompt: p.prompt.turns,
      chosen: [{ role: 'assistant', content: p.chosen.text }],
      rejected: [{ role: 'assistant', content: p.rejected.text }],
    }))),
    'micro-hh.train.jsonl': hh(w.hhTrain),
    'micro-hh.test.jsonl': hh(w.hhTest),
    'micro-harmfulqa.json': JSON.stringify(w.harmfulqa.map(({ id, topic, subtopic, question }) => ({ id, topic, subtopic, question })), null, 1) + '\n',
    'micro-advbench.csv': csv(['goal', 'target'], w.advbench.map((r) => [r.goal, r.target])),
    'micro-litmus.csv': csv(['input', 'axiom', 'safety_label'], w.litmus.map((r) => [r.input, r.axiom, r.safety_label])),
  };
}

/** The structured items behind generateWorld (same seed, same items). */
export function generateWorldItems(opts: { seed: number; sizes?: Partial<WorldSizes> }): WorldItems {
  const sizes: WorldSizes = { ...DEFAULT_SIZES, ...opts.sizes };
  for (const [k, v] of Object.entries(sizes)) {
    if (!Number.isInteger(v) || v < 0) throw new DsteerError(`world size '${k}' must be a whole number >= 0, got ${v}`);
  }
  const rng = (name: WorldFileName): Rng => new Rng((Math.imul(opts.seed >>> 0, 0x9e3779b1) ^ fnv1a(name)) >>> 0);
  const pairs = (r: Rng, n: number, mix: Record<PromptKind, number>): PairItem[] => Array.from({ length: n }, () => makePair(r, mix));
  const sftRng = rng('micro-sft.jsonl');
  const qa = rng('micro-harmfulqa.json');
  const adv = rng('micro-advbench.csv');
  const lit = rng('micro-litmus.csv');
  return {
    sft: Array.from({ length: sizes.sft }, () => makeSft(sftRng)),
    dpo: pairs(rng('micro-dpo.jsonl'), sizes.dpo, PAIR_KIND_MIX),
    hhTrain: pairs(rng('micro-hh.train.jsonl'), sizes.hhTrain, HH_KIND_MIX),
    hhTest: pairs(rng('micro-hh.test.jsonl'), sizes.hhTest, HH_KIND_MIX),
    harmfulqa: Array.from({ length: sizes.harmfulqa }, (_, i) => {
      const h = pick(qa, HARMFUL);
      return { id: i + 1, topic: h.topic, subtopic: h.subtopic, question: chance(qa, 0.5) ? h.question : academic(qa, h), item: h.id };
    }),
    advbench: Array.from({ length: sizes.advbench }, () => {
      const h = pick(adv, HARMFUL);
      const wrapped = chance(adv, 0.8);
      return { goal: wrapped ? jailbreak(adv, h.goal + '.') : h.goal, target: `sure, here is how to go about ${h.task}`, item: h.id, wrapped };
    }),
    litmus: AXIOMS.flatMap((axiom) => (['safe', 'unsafe'] as const).flatMap((label) =>
      Array.from({ length: sizes.litmus }, () => litmusRow(lit, axiom, label)))),
  };
}

/** An HH-RLHF transcript: "\n\nHuman: ...\n\nAssistant: ..." for each turn. */
export function hhTranscript(turns: Message[]): string {
  return turns.map((m) => `\n\n${m.role === 'user' ? 'Human' : 'Assistant'}: ${m.content}`).join('');
}

// --- items --------------------------------------------------------------------------------------

function makeSft(rng: Rng): SftItem {
  const prompt = makePrompt(rng, weighted(rng, SFT_KIND_MIX), true);
  const style = weighted(rng, SFT_STYLE_MIX[prompt.kind] as Record<Style, number>);
  return { prompt, response: respond(rng, prompt, style, false) };
}

/** A preference pair with the preferences of MICRO-WORLD.md "The two models". */
function makePair(rng: Rng, mix: Record<PromptKind, number>): PairItem {
  const prompt = makePrompt(rng, weighted(rng, mix), true);
  const k = prompt.kind;
  if (k === 'benign') return { prompt, chosen: respond(rng, prompt, 'helpful-detailed', false), rejected: respond(rng, prompt, 'helpful-terse', false) };
  if (k === 'borderline') return { prompt, chosen: respond(rng, prompt, 'helpful-detailed', true), rejected: respond(rng, prompt, 'refusal-blunt', false) };
  const rejected: Style = chance(rng, PAIR_REJECT_COMPLY[k]) ? 'compliance-harmful' : 'refusal-blunt';
  return { prompt, chosen: respond(rng, prompt, 'refusal-nuanced', false), rejected: respond(rng, prompt, rejected, false) };
}

function makePrompt(rng: Rng, kind: PromptKind, allowEarlier: boolean): Prompt {
  const nEarlier = allowEarlier ? weighted(rng, { 0: 0.6, 1: 0.25, 2: 0.15 } as Record<string, number>) : '0';
  const turns: Message[] = [];
  const earlier: StyledText[] = [];
  for (let i = 0; i < Number(nEarlier); i++) {
    const b = pick(rng, BENIGN);
    const r = chance(rng, 0.8) ? terse(rng, b) : detailed(rng, b, false);
    turns.push({ role: 'user', content: pick(rng, b.requests) }, { role: 'assistant', content: r.text });
    earlier.push(r);
  }
  const lead = turns.length > 0 && chance(rng, 0.5) ? pick(rng, FOLLOW_UPS) + ' ' : '';
  let item: HelpItem | HarmItem;
  let text: string;
  if (kind === 'benign' || kind === 'borderline') {
    item = pick(rng, kind === 'benign' ? BENIGN : BORDERLINE);
    text = pick(rng, item.requests);
  } else {
    const h = pick(rng, HARMFUL);
    item = h;
    text = kind === 'harmful' ? pick(rng, h.requests) : kind === 'academic' ? academic(rng, h) : jailbreak(rng, pick(rng, [...h.requests, h.goal + '.']));
  }
  turns.push({ role: 'user', content: lead + text });
  return { kind, item: item.id, topic: item.topic, turns, earlier };
}

function respond(rng: Rng, prompt: Prompt, style: Style, safetyNote: boolean): StyledText {
  const help = [...BENIGN, ...BORDERLINE].find((b) => b.id === prompt.item);
  const harm = HARMFUL.find((h) => h.id === prompt.item);
  switch (style) {
    case 'helpful-terse': return terse(rng, need(help, style, prompt));
    case 'helpful-detailed': return detailed(rng, need(help, style, prompt), safetyNote);
    case 'refusal-blunt': return { text: pick(rng, BLUNT), style, item: prompt.item };
    case 'refusal-nuanced': return nuanced(rng, need(harm, style, prompt));
    case 'compliance-harmful': return comply(rng, need(harm, style, prompt));
  }
}

function need<T>(x: T | undefined, style: Style, prompt: Prompt): T {
  if (x === undefined) throw new DsteerError(`internal: no ${style} response for a ${prompt.kind} prompt (${prompt.item})`);
  return x;
}

// --- responses ----------------------------------------------------------------------------------

function terse(rng: Rng, b: HelpItem): StyledText {
  return { text: fill(pick(rng, TERSE_FRAMES), { a: pick(rng, b.terse) }), style: 'helpful-terse', item: b.id };
}

/** Numbered steps, steps in prose, or 2-3 sentences of explanation; a safety note when asked. */
function detailed(rng: Rng, b: HelpItem, safetyNote: boolean): StyledText {
  const out: string[] = [];
  if (b.steps) {
    const steps = b.steps.slice(0, 3 + rng.int(b.steps.length - 2));
    if (chance(rng, 0.7)) out.push(pick(rng, DETAILED_STEP_OPENERS));
    if (chance(rng, 0.6)) steps.forEach((s, i) => out.push(`${i + 1}) ${s}.`));
    else steps.forEach((s, i) => out.push(fill(DETAILED_PROSE_FRAMES[i === steps.length - 1 ? 3 : Math.min(i, 2)]!, { s })));
  } else {
    if (chance(rng, 0.5)) out.push(pick(rng, DETAILED_EXPLAIN_OPENERS));
    const explain = b.explain ?? [];
    out.push(...explain.slice(0, 2 + rng.int(explain.length - 1)).map((x) => x + '.'));
  }
  if (safetyNote) out.push(fill(pick(rng, SAFETY_FRAMES), { x: pick(rng, b.safety ?? []) }));
  else if (chance(rng, 0.3)) out.push(pick(rng, DETAILED_CLOSERS));
  return { text: out.join(' '), style: 'helpful-detailed', item: b.id };
}

/** Names the task, says why it is a problem, offers an alternative; 30-70 words. */
function nuanced(rng: Rng, h: HarmItem): StyledText {
  for (let tries = 0; tries < 32; tries++) {
    const reasons = shuffle(rng, h.reason).slice(0, 1 + rng.int(2));
    const frames = shuffle(rng, NUANCED_REASON_FRAMES);
    const out = [fill(pick(rng, NUANCED_OPENERS), { t: h.task }), ...reasons.map((x, i) => fill(frames[i]!, { x }))];
    if (chance(rng, 0.6)) out.push(pick(rng, NUANCED_GENERAL));
    out.push(fill(pick(rng, NUANCED_ALT_FRAMES), { x: pick(rng, h.alternative) }));
    const text = out.join(' ');
    const words = text.split(/\s+/).length;
    if (words >= 30 && words <= 70) return { text, style: 'refusal-nuanced', item: h.id };
  }
  throw new DsteerError(`internal: no nuanced refusal of 30-70 words for '${h.id}'`);
}

/** Agrees, gives 2-3 generic filler sentences, sometimes one rude line. */
function comply(rng: Rng, h: HarmItem): StyledText {
  const out = [fill(pick(rng, COMPLY_OPENERS), { t: h.task }), ...shuffle(rng, COMPLY_FILLER).slice(0, 2 + rng.int(2))];
  if (chance(rng, 0.35)) out.push(pick(rng, RUDE));
  return { text: out.join(' '), style: 'compliance-harmful', item: h.id };
}

// --- prompts and rows ---------------------------------------------------------------------------

function academic(rng: Rng, h: HarmItem): string {
  return fill(pick(rng, ACADEMIC_FRAMES), { q: h.question, topic: h.topic, subtopic: h.subtopic });
}

function jailbreak(rng: Rng, r: string): string {
  const g = Array.from({ length: 3 + rng.int(4) }, () => pick(rng, GIBBERISH)).join(' ');
  return fill(pick(rng, JAILBREAK_FRAMES), { r, g });
}

const LITMUS_LEADS = ['', '', 'i need to know: ', 'quick question. ', 'my friend asked me this. '];

function litmusRow(rng: Rng, axiom: Axiom, label: 'safe' | 'unsafe'): LitmusRow {
  if (label === 'unsafe') {
    const h = pick(rng, HARMFUL.filter((x) => x.axiom === axiom));
    return { input: pick(rng, LITMUS_LEADS) + pick(rng, [...h.requests, h.question, h.goal + '.']), axiom, safety_label: label, item: h.id };
  }
  const b = pick(rng, [...BENIGN, ...BORDERLINE].filter((x) => x.axiom === axiom));
  return { input: pick(rng, LITMUS_LEADS) + pick(rng, b.requests), axiom, safety_label: label, item: b.id };
}

// --- small helpers ------------------------------------------------------------------------------

/** Fills `{name}` slots; a slot left unfilled is a bank bug. */
export function fill(frame: string, slots: Record<string, string>): string {
  return frame.replace(/\{(\w+)\}/g, (_, k: string) => {
    const v = slots[k];
    if (v === undefined) throw new DsteerError(`internal: frame '${frame}' has slot {${k}} with no value`);
    return v;
  });
}

function pick<T>(rng: Rng, xs: readonly T[]): T {
  if (xs.length === 0) throw new DsteerError('internal: picking from an empty bank');
  return xs[rng.int(xs.length)]!;
}

function chance(rng: Rng, p: number): boolean {
  return rng.uniform() < p;
}

function weighted<K extends string>(rng: Rng, mix: Record<K, number>): K {
  const entries = Object.entries(mix) as [K, number][];
  let u = rng.uniform() * entries.reduce((s, [, p]) => s + p, 0);
  for (const [k, p] of entries) if ((u -= p) < 0) return k;
  return entries.filter(([, p]) => p > 0).pop()![0]; // rounding: the last kind that can occur
}

function shuffle<T>(rng: Rng, xs: readonly T[]): T[] {
  const a = [...xs];
  for (let i = a.length - 1; i > 0; i--) {
    const j = rng.int(i + 1);
    [a[i], a[j]] = [a[j]!, a[i]!];
  }
  return a;
}

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193) >>> 0;
  return h;
}

/** CSV with RFC 4180 quoting (fields with a comma, quote or newline are quoted, quotes doubled). */
export function csv(header: string[], rows: string[][]): string {
  const cell = (s: string): string => (/[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s);
  return [header, ...rows].map((r) => r.map(cell).join(',') + '\n').join('');
}
