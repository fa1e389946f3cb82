/** `dsteer score-pairs`: log-likelihoods of chosen and rejected answers, and DPO implicit rewards. */
import { FileSource } from '../engine/byte-source-node.js';
import { DsteerError } from '../engine/errors.js';
import { readHh } from '../data/readers/hh.js';
import { formatReport, newReport } from '../data/readers/report.js';
import { sameTokenization } from '../models/tokenizer.js';
import { hhToPair, scorePairs, type PreferencePair } from '../steering/pairs.js';
import { parseChoice, parseIntIn } from './args.js';
import { chooseBackend, note, openModel, printJson } from './common.js';

export interface ScorePairsFlags {
  model: string;
  ref?: string;
  data: string;
  maxPairs?: string;
  promptFormat: string;
  chatTemplate: boolean;
  device: string;
  weightDtype: string;
  format: string;
}

export async function runScorePairs(f: ScorePairsFlags): Promise<void> {
  const format = parseChoice('--format', f.format, ['text', 'json'] as const);
  const promptFormat = parseChoice('--prompt-format', f.promptFormat, ['one-message', 'turns'] as const);
  const maxPairs = f.maxPairs === undefined ? Infinity : parseIntIn('--max-pairs', f.maxPairs, 1);
  const backend = await chooseBackend(f.device, f.weightDtype);
  note(backend.note);
  const { model, tokenizer } = await openModel(f.model, backend.kernels);
  const ref = f.ref ? await openModel(f.ref, backend.kernels) : null;
  if (ref) {
    const diff = sameTokenization(tokenizer, ref.tokenizer, ['Hello there.', 'How do I fix a bike?']);
    if (diff) throw new DsteerError(`--ref ${f.ref}: its tokenizer differs from --model's (${diff})`);
  }
  if (f.chatTemplate && !tokenizer.hasChatTemplate) {
    throw new DsteerError(`${f.model} has no chat template; pass --no-chat-template to score raw transcripts`, 2);
  }
  const src = await FileSource.open(f.data);
  const report = newReport(f.data);
  const pairs: PreferencePair[] = [];
  try {
    for await (const row of readHh(src, report)) {
      pairs.push(hhToPair(row, { chat: f.chatTemplate, format: promptFormat }));
      if (pairs.length >= maxPairs) break;
    }
  } finally {
    await src.close();
  }
  note(formatReport(report));
  if (pairs.length === 0) throw new DsteerError(`${f.data}: no usable pairs`);
  const { summary, skipped } = await scorePairs(model, tokenizer, pairs, ref?.model ?? null);
  if (skipped.length > 0) note(`${skipped.length} of ${pairs.length} pairs skipped: longer than the model's context (${model.cfg.maxContext} tokens)`);
  if (summary.pairs === 0) throw new DsteerError(`${f.data}: every pair is longer than the model's context (${model.cfg.maxContext} tokens)`);
  if (format === 'json') {
    printJson(summary);
    return;
  }
  const lines = [
    `pairs: ${summary.pairs} (${f.chatTemplate ? `chat template, ${promptFormat} prompts` : 'raw transcripts'})`,
    `accuracy (summed log-likelihood, chosen > rejected): ${summary.accuracy.toFixed(4)}`,
    `normalized accuracy (per-token mean):                 ${summary.normalized_accuracy.toFixed(4)}`,
    `mean margin (summed, chosen - rejected):             ${summary.mean_margin.toFixed(4)}`,
  ];
  if (summary.reward_accuracy !== undefined) {
    lines.push(`implicit-reward accuracy (vs --ref):                 ${summary.reward_accuracy.toFixed(4)}`);
    lines.push(`mean implicit-reward margin:                          ${summary.mean_reward_margin!.toFixed(4)}`);
  }
  process.stdout.write(lines.join('\n') + '\n');
}
