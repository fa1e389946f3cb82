/**
 * Trainer benchmark (issue 4): tokens/s of the CPU trainer (forward + backward + AdamW, one core)
 * on the micro model of the shipped pair, with its tokenizer and the shipped micro-world data:
 * SFT steps of the micro preset ([16, 128] batches) and DPO steps ([2 x 8, 128]; the reference
 * log-probs are computed first, untimed). Tokens are the loss-bearing sequence positions counted
 * as the trainer's progress bar counts them (min(T, length - 1) per sequence). The first step of
 * each phase is a warm-up and is not a sample. Also reports the process's peak resident memory.
 * Run by `dsteer bench --suite train`. It lives in cli/, not bench/, because the import rules keep
 * bench/ to the library folders and this benchmark drives train/.
 */
import { readFileSync } from 'node:fs';
import { NodeDir } from '../engine/byte-source-node.js';
import { parseConfig } from '../models/config.js';
import { loadTokenizer, type ChatMessage } from '../models/tokenizer.js';
import { referenceLogprobs, trainDpo, type DpoPair } from '../train/dpo.js';
import { cloneParams, initParams } from '../train/model-train.js';
import { PRESETS } from '../train/pipeline.js';
import { encodeConversation } from '../train/sequences.js';
import { trainSft, type StepInfo } from '../train/sft.js';
import { assetPath } from '../bench/paths.js';
import { quantiles, type BenchResult } from '../bench/report.js';

const VERSION = 'train-rows-trimmed-1';

function jsonl<T>(file: string): T[] {
  return readFileSync(file, 'utf8')
    .split('\n')
    .filter((l) => l.trim() !== '')
    .map((l) => JSON.parse(l) as T);
}

/** tokens/s of each step after the first, from a loop's cumulative step reports. */
function rates(infos: StepInfo[]): number[] {
  const out: number[] = [];
  for (let i = 1; i < infos.length; i++) out.push((infos[i]!.tokens - infos[i - 1]!.tokens) / (infos[i]!.seconds - infos[i - 1]!.seconds));
  return out;
}

/** `steps` timed SFT steps and `steps` timed DPO steps (each after one warm-up step) of the micro preset. */
export async function benchTrain(steps: number): Promise<BenchResult[]> {
  const dir = assetPath('micro/sft');
  const tok = await loadTokenizer(await NodeDir.open(dir));
  const cfg = parseConfig(JSON.parse(readFileSync(`${dir}/config.json`, 'utf8')) as unknown, `${dir}/config.json`);
  const { sft: so, dpo: dop } = PRESETS.micro;
  const seqs = jsonl<{ messages: ChatMessage[] }>(assetPath('data/micro-sft.jsonl')).map((r) => encodeConversation(tok, r.messages));
  const params = initParams(cfg, 1);
  const sftInfos: StepInfo[] = [];
  trainSft(cfg, params, seqs, { ...so, seed: 1 }, (s) => void sftInfos.push(s), { stopAfter: steps + 1 });
  const rows = jsonl<{ prompt: ChatMessage[]; chosen: ChatMessage[]; rejected: ChatMessage[] }>(assetPath('data/micro-dpo.jsonl')).slice(0, dop.B * (steps + 1));
  const conv = (p: ChatMessage[], a: string): ChatMessage[] => [...p, { role: 'assistant', content: a }];
  const pairs: DpoPair[] = rows.map((r) => ({ chosen: encodeConversation(tok, conv(r.prompt, r.chosen[0]!.content)), rejected: encodeConversation(tok, conv(r.prompt, r.rejected[0]!.content)) }));
  const refLp = referenceLogprobs(cfg, params, pairs, dop.B, dop.T);
  const dpoInfos: StepInfo[] = [];
  trainDpo(cfg, cloneParams(params), refLp, pairs, { ...dop, seed: 2 }, (s) => void dpoInfos.push(s), { stopAfter: steps + 1 });
  const peakMiB = process.resourceUsage().maxRSS / 1024;
  const result = (name: string, shape: string, infos: StepInfo[]): BenchResult => {
    const r = rates(infos);
    const q = quantiles(r);
    return { suite: 'train', name, backend: 'cpu', shape, dtype: 'f32', version: VERSION, value: q.median, unit: 'tokens/s', spread: q.iqr, samples: r.length, extra: { peak_rss_mib: Math.round(peakMiB) } };
  };
  return [result('sft-step', `micro B ${so.B} T ${so.T}`, sftInfos), result('dpo-step', `micro B 2x${dop.B} T ${dop.T}`, dpoInfos)];
}
