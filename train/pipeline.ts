/**
 * The micro-world build: data -> tokenizer -> SFT model -> DPO model, each step deterministic for
 * a seed, every artefact returned as files (path -> contents) for the caller to write. Presets:
 * `micro` (the shipped pair) and `nano` (seconds; tests).
 */
import { MemoryDir } from '../engine/byte-source.js';
import { promptMessages, splitTranscript } from '../data/readers/hh.js';
import { generateWorld, NANO_SIZES, DEFAULT_SIZES, type WorldSizes } from '../data/world/generate.js';
import { parseConfig } from '../models/config.js';
import { loadTokenizer, type ChatMessage, type ModelTokenizer } from '../models/tokenizer.js';
import { CHAT_TOKENS, toTokenizerConfig, toTokenizerJson, trainBpe } from './bpe.js';
import { trainDpo, referenceLogprobs, type DpoOptions, type DpoPair, type DpoStepInfo } from './dpo.js';
import { exportHfModel } from './export.js';
import { cloneParams, createTrainWorkspace, forwardTrain, initParams, paramEntries, type TrainParams } from './model-train.js';
import { decodeCheckpoint, encodeCheckpoint, type Checkpoint } from './checkpoint.js';
import { encodeConversation, packBatch, type Sequence } from './sequences.js';
import { trainSft, type LoopOptions, type StepInfo } from './sft.js';

export interface Preset {
  name: string;
  world: WorldSizes;
  bpeVocab: number;
  /** config.json fields except vocab size and special ids (set from the tokenizer). */
  model: Record<string, unknown>;
  sft: Omit<LoopOptions, 'seed'>;
  dpo: Omit<DpoOptions, 'seed'>;
  /** Measure the pair's behaviour after the build (eval/micro-pair.ts, run by `dsteer train`). */
  evaluate: boolean;
}

export const PRESETS: Record<'micro' | 'nano', Preset> = {
  micro: {
    name: 'micro',
    world: DEFAULT_SIZES,
    bpeVocab: 1024,
    model: { model_type: 'llama', hidden_size: 64, intermediate_size: 176, num_hidden_layers: 6, num_attention_heads: 4, num_key_value_heads: 2, max_position_embeddings: 256, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true },
    sft: { epochs: 2, B: 16, T: 128, lr: 3e-3, minLr: 3e-4, warmup: 30, clip: 1, weightDecay: 0.1 },
    dpo: { epochs: 1, B: 8, T: 128, lr: 5e-5, minLr: 5e-6, warmup: 10, clip: 1, weightDecay: 0, beta: 0.1 },
    evaluate: true,
  },
  nano: {
    name: 'nano',
    world: NANO_SIZES,
    bpeVocab: 400,
    model: { model_type: 'llama', hidden_size: 32, intermediate_size: 64, num_hidden_layers: 2, num_attention_heads: 2, num_key_value_heads: 1, max_position_embeddings: 256, rms_norm_eps: 1e-5, rope_theta: 10000, tie_word_embeddings: true },
    sft: { epochs: 12, B: 8, T: 96, lr: 1e-2, minLr: 1e-3, warmup: 5, clip: 1, weightDecay: 0 },
    dpo: { epochs: 8, B: 4, T: 96, lr: 2e-3, minLr: 2e-4, warmup: 2, clip: 1, weightDecay: 0, beta: 0.5 },
    evaluate: false,
  },
};

export interface BuildReport {
  preset: string;
  seed: number;
  parameters: number;
  vocabSize: number;
  sft: { steps: number; firstLoss: number; lastLoss: number; tokens: number; seconds: number };
  dpo: { steps: number; firstLoss: number; lastLoss: number; tokens: number; seconds: number; trainRewardAccuracy: number };
  /** Mean per-token KL(DPO || SFT) on held-out conversations (micro-hh.test chosen answers). */
  klDpoSft: number;
}

export interface BuildHooks {
  /** A file of the build, as soon as it exists: path relative to the output folder. */
  write(path: string, data: string | Uint8Array): Promise<void>;
  progress?(phase: 'sft' | 'dpo', info: StepInfo | DpoStepInfo): void;
  log?(msg: string): void;
  /** Reads a file written earlier by this build (to resume from checkpoints), or null. */
  read?(path: string): Promise<Uint8Array | null>;
  /** Steps between checkpoints (checkpoints/sft.ckpt, checkpoints/dpo.ckpt); default 50. */
  checkpointEvery?: number;
}

function lines(text: string): unknown[] {
  return text.split('\n').filter((l) => l.trim() !== '').map((l) => JSON.parse(l) as unknown);
}

/** Mean over assistant tokens of KL(a || b) of the next-token distributions. */
export function meanTokenKl(cfg: ReturnType<typeof parseConfig>, a: TrainParams, b: TrainParams, seqs: Sequence[], T: number): number {
  const B = 8;
  const wa = createTrainWorkspace(cfg, B, T);
  const wb = createTrainWorkspace(cfg, B, T);
  const V = cfg.vocabSize;
  let kl = 0;
  let n = 0;
  for (let i = 0; i < seqs.length; i += B) {
    const batch = packBatch(seqs.slice(i, i + B), B, T);
    forwardTrain(wa, a, batch);
    forwardTrain(wb, b, batch);
    for (let r = 0; r < B * T; r++) {
      if (batch.mask[r] === 0) continue;
      const la = logSoftmaxRow(wa.logits, r * V, V);
      const lb = logSoftmaxRow(wb.logits, r * V, V);
      let s = 0;
      for (let v = 0; v < V; v++) s += Math.exp(la[v]!) * (la[v]! - lb[v]!);
      kl += s;
      n++;
    }
  }
  return n === 0 ? 0 : kl / n;
}

function logSoftmaxRow(x: Float32Array, o: number, n: number): Float64Array {
  let m = -Infinity;
  for (let i = 0; i < n; i++) m = Math.max(m, x[o + i]!);
  let s = 0;
  for (let i = 0; i < n; i++) s += Math.exp(x[o + i]! - m);
  const lse = m + Math.log(s);
  const out = new Float64Array(n);
  for (let i = 0; i < n; i++) out[i] = x[o + i]! - lse;
  return out;
}

function conversationOf(prompt: ChatMessage[], answer: string): ChatMessage[] {
  return [...prompt, { role: 'assistant', content: answer }];
}

/**
 * Builds data, tokenizer and both models for a preset; every file goes through `hooks.write`.
 * Layout: data/<world files>, sft/ and dpo/ (HF model folders), build-report.json.
 */
export async function buildWorld(preset: Preset, seed: number, hooks: BuildHooks): Promise<BuildReport> {
  const log = hooks.log ?? (() => {});
  // 1. data
  const files = generateWorld({ seed, sizes: preset.world });
  for (const [name, text] of Object.entries(files)) await hooks.write(`data/${name}`, text);
  const sftRows = lines(files['micro-sft.jsonl']) as { messages: ChatMessage[] }[];
  const dpoRows = lines(files['micro-dpo.jsonl']) as { prompt: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[] }[];
  // 2. tokenizer (trained on the SFT and DPO texts only)
  const corpus = [...sftRows.flatMap((r) => r.messages.map((m) => m.content)), ...dpoRows.flatMap((r) => [...r.prompt, ...r.chosen, ...r.rejected].map((m) => m.content))];
  const bpe = trainBpe(corpus, { vocabSize: preset.bpeVocab, specialTokens: Object.values(CHAT_TOKENS) });
  const tokFiles = {
    'tokenizer.json': toTokenizerJson(bpe),
    'tokenizer_config.json': toTokenizerConfig(bpe),
    'generation_config.json': JSON.stringify({ bos_token_id: 1, eos_token_id: 2 }, null, 2) + '\n',
  };
  const tok: ModelTokenizer = await loadTokenizer(new MemoryDir('tokenizer', tokFiles));
  log(`tokenizer: ${bpe.vocab.length} tokens (${bpe.stats.stopReason})`);
  const raw = { ...preset.model, vocab_size: bpe.vocab.length, bos_token_id: tok.bosId, eos_token_id: tok.eosIds[0] };
  const cfg = parseConfig(raw, `${preset.name} preset`);
  // 3. SFT
  const sftSeqs = sftRows.map((r) => encodeConversation(tok, r.messages));
  const params = initParams(cfg, seed);
  const parameters = paramEntries(params).reduce((a, [, t]) => a + t.length, 0);
  log(`model: ${parameters} parameters, ${cfg.nLayers} layers, dim ${cfg.dim}; SFT on ${sftSeqs.length} conversations`);
  let sftInfo: StepInfo | null = null;
  const pending: Promise<void>[] = [];
  const ckHooks = async (phase: 'sft' | 'dpo') => {
    const path = `checkpoints/${phase}.ckpt`;
    const prev = hooks.read ? await hooks.read(path) : null;
    const resume = prev ? decodeCheckpoint(prev, path) : undefined;
    if (resume) log(`${phase}: resuming from ${path} at step ${resume.step} of ${resume.steps}`);
    return { ...(resume ? { resume } : {}), every: hooks.checkpointEvery ?? 50, save: (c: Checkpoint) => void pending.push(hooks.write(path, encodeCheckpoint(c))) };
  };
  const sftLosses = trainSft(cfg, params, sftSeqs, { ...preset.sft, seed }, (s) => {
    sftInfo = s;
    hooks.progress?.('sft', s);
  }, await ckHooks('sft'));
  await Promise.all(pending.splice(0));
  const meta = (stage: string): Record<string, string> => ({ 'dsteer.train': JSON.stringify({ preset: preset.name, seed, stage }) });
  const asMap = (p: TrainParams): Map<string, Float32Array> => new Map(paramEntries(p));
  const sftFiles = exportHfModel(raw, asMap(params), tokFiles, meta('sft'));
  for (const [name, data] of Object.entries(sftFiles)) await hooks.write(`sft/${name}`, data);
  // 4. DPO against the frozen SFT model
  const pairs: DpoPair[] = dpoRows.map((r) => ({
    chosen: encodeConversation(tok, conversationOf(r.prompt, r.chosen[0]!.content)),
    rejected: encodeConversation(tok, conversationOf(r.prompt, r.rejected[0]!.content)),
  }));
  const policy = cloneParams(params);
  const refLp = referenceLogprobs(cfg, params, pairs, preset.dpo.B, preset.dpo.T);
  let dpoInfo: DpoStepInfo | null = null;
  let accSum = 0;
  const dpoLosses = trainDpo(cfg, policy, refLp, pairs, { ...preset.dpo, seed: seed + 1 }, (s) => {
    dpoInfo = s;
    accSum += s.rewardAccuracy;
    hooks.progress?.('dpo', s);
  }, await ckHooks('dpo'));
  await Promise.all(pending.splice(0));
  const dpoFiles = exportHfModel(raw, asMap(policy), tokFiles, meta('dpo'));
  for (const [name, data] of Object.entries(dpoFiles)) await hooks.write(`dpo/${name}`, data);
  // 5. closeness: per-token KL on held-out conversations
  const hhTest = lines(files['micro-hh.test.jsonl']) as { chosen: string }[];
  const heldOut = hhTest.slice(0, 64).flatMap((r) => {
    const split = splitTranscript(r.chosen);
    return typeof split === 'string' ? [] : [encodeConversation(tok, conversationOf(promptMessages(split, 'turns'), split.answer))];
  });
  const kl = meanTokenKl(cfg, policy, params, heldOut, preset.sft.T);
  const sI = sftInfo as StepInfo | null;
  const dI = dpoInfo as DpoStepInfo | null;
  const report: BuildReport = {
    preset: preset.name,
    seed,
    parameters,
    vocabSize: bpe.vocab.length,
    sft: { steps: sftLosses.length, firstLoss: sftLosses[0]!, lastLoss: sftLosses.at(-1)!, tokens: sI?.tokens ?? 0, seconds: sI?.seconds ?? 0 },
    dpo: { steps: dpoLosses.length, firstLoss: dpoLosses[0]!, lastLoss: dpoLosses.at(-1)!, tokens: dI?.tokens ?? 0, seconds: dI?.seconds ?? 0, trainRewardAccuracy: accSum / Math.max(1, dI?.step ?? 1) },
    klDpoSft: kl,
  };
  await hooks.write('build-report.json', JSON.stringify(report, null, 2) + '\n');
  return report;
}
