/**
 * `dsteer extract`: D-STEER vectors from an SFT model and its DPO sibling over preference pairs
 * (steering/extract.ts). Writes OUT (the vector file, with provenance: both models' paths and
 * content hashes, the dataset's hash, counts, filter, prompt format), OUT's `.diagnostics.json` and
 * `.samples.safetensors` beside it, and prints the diagnostics (a table, or JSON).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { Option, type Command } from 'commander';
import { FileSource } from '../engine/byte-source-node.js';
import { DsteerError } from '../engine/errors.js';
import type { HhPromptFormat } from '../data/readers/hh.js';
import { readPreferenceFile, type PreferenceRecord } from '../data/readers/preference.js';
import { formatReport, newReport } from '../data/readers/report.js';
import { checkSamePair, extractVectors, PAIR_FILTERS, READ_POSITIONS, TOKENIZER_PROBES, encodeSamplesFile, type ExtractDiagnostics, type ExtractMethod, type PairFilter } from '../steering/extract.js';
import { hhToPair, type PreferencePair } from '../steering/pairs.js';
import { encodeVectorFile } from '../steering/vector.js';
import { parseChoice, parseIntIn, parseIntList } from './args.js';
import { chooseBackend, note, openModel, printJson } from './common.js';
import { hashModelDir, sha256File } from './hash.js';
import { commonOptions } from './options.js';
import { progress } from './progress.js';

export interface ExtractFlags {
  sft: string;
  dpo: string;
  data: string;
  out: string;
  maxPairs: string;
  maxScan?: string;
  filter: string;
  promptFormat: string;
  chatTemplate: boolean;
  method: string;
  read: string;
  component?: string;
  spectralSamples: string;
  spectralLayers?: string;
  batch: string;
  promptField?: string;
  chosenField?: string;
  rejectedField?: string;
  device: string;
  weightDtype: string;
  format: string;
}

/** The files extraction writes: OUT, and beside it NAME.diagnostics.json and NAME.samples.safetensors. */
export function extractOutputs(out: string): { vector: string; diagnostics: string; samples: string } {
  if (!out.endsWith('.safetensors')) throw new DsteerError(`--out: "${out}" must end in .safetensors (the vector file)`, 2);
  const stem = out.slice(0, -'.safetensors'.length);
  return { vector: out, diagnostics: `${stem}.diagnostics.json`, samples: `${stem}.samples.safetensors` };
}

/**
 * A preference record as a pair. HH rows go through hhToPair; message rows keep their prompt turns
 * as chat messages, or, without the chat template, become an HH transcript ("\n\nHuman: ..." /
 * "\n\nAssistant: ..." turns, a trailing "\n\nAssistant:" marker, answers after a space), the
 * same text hhToPair feeds for HH rows.
 */
export function recordToPair(rec: PreferenceRecord, mode: { chat: boolean; format: HhPromptFormat }): PreferencePair {
  if (rec.kind === 'hh') return hhToPair(rec.pair, mode);
  if (mode.chat) return { prompt: { messages: rec.prompt }, chosen: rec.chosen, rejected: rec.rejected };
  const text = rec.prompt.map((t) => `\n\n${t.role === 'user' ? 'Human' : 'Assistant'}: ${t.content}`).join('');
  return { prompt: { text: `${text}\n\nAssistant:` }, chosen: ` ${rec.chosen}`, rejected: ` ${rec.rejected}` };
}

const fmt = (x: number | null, digits = 4): string => (x === null ? '-' : x.toFixed(digits));

/** The diagnostics as a table (one row per layer). */
export function diagnosticsTable(d: ExtractDiagnostics): string {
  const f = d.filter;
  const lines = [
    `pairs kept: ${d.pairs} (filter ${f.name}: ${f.scanned} scanned, ${f.kept} kept, ${f.rejected_by_filter} rejected by the filter, ${f.skipped_too_long} too long, ${f.skipped_empty_answer} empty answers)`,
    `method: ${d.method}${d.component === null ? '' : ` (component ${d.component})`}, read at the ${d.read === 'last' ? 'last token' : 'last prompt token'}; sample cosines: ${d.sample_cosine_source}`,
    'layer  vec_norm  resid_norm  cos_st_ch  cos_st_rej  cos_ch_rej  split_half  samp_n  samp_mean  samp_p05  samp_med  samp_p95',
  ];
  for (const l of d.layers) {
    const s = l.sample_cosine;
    lines.push(
      [
        String(l.layer).padStart(5),
        fmt(l.vector_norm).padStart(9),
        fmt(l.mean_residual_norm).padStart(11),
        fmt(l.cos_states_chosen).padStart(10),
        fmt(l.cos_states_rejected).padStart(11),
        fmt(l.cos_chosen_rejected).padStart(11),
        fmt(l.split_half_cosine).padStart(11),
        String(s?.n ?? '-').padStart(7),
        fmt(s?.mean ?? null).padStart(10),
        fmt(s?.p05 ?? null).padStart(9),
        fmt(s?.median ?? null).padStart(9),
        fmt(s?.p95 ?? null).padStart(9),
      ].join(' '),
    );
  }
  return lines.join('\n');
}

export async function runExtract(f: ExtractFlags): Promise<void> {
  const format = parseChoice('--format', f.format, ['text', 'json'] as const);
  const promptFormat = parseChoice('--prompt-format', f.promptFormat, ['one-message', 'turns'] as const);
  const filter = parseChoice('--filter', f.filter, PAIR_FILTERS) as PairFilter;
  const method = parseChoice('--method', f.method, ['mean', 'pc'] as const) as ExtractMethod;
  const read = parseChoice('--read', f.read ?? 'last', READ_POSITIONS);
  if (f.component !== undefined && method !== 'pc') throw new DsteerError('--component needs --method pc', 2);
  const component = f.component === undefined ? 0 : parseIntIn('--component', f.component, 0);
  const maxPairs = parseIntIn('--max-pairs', f.maxPairs, 1);
  const maxScan = f.maxScan === undefined ? 2 * maxPairs : parseIntIn('--max-scan', f.maxScan, 1);
  const spectralSamples = parseIntIn('--spectral-samples', f.spectralSamples, 0);
  const spectralLayers = f.spectralLayers === undefined ? undefined : parseIntList('--spectral-layers', f.spectralLayers);
  const batch = parseIntIn('--batch', f.batch, 1);
  const outs = extractOutputs(f.out);

  const backend = await chooseBackend(f.device, f.weightDtype);
  note(backend.note);
  const sft = await openModel(f.sft, backend.kernels);
  const dpo = await openModel(f.dpo, backend.kernels);
  if (f.chatTemplate && !sft.tokenizer.hasChatTemplate) {
    throw new DsteerError(`--sft ${f.sft} has no chat template; pass --no-chat-template to use raw transcripts`, 2);
  }
  checkSamePair(sft, dpo, TOKENIZER_PROBES); // before hashing gigabytes
  note('hashing models and data for provenance');
  const [sftHash, dpoHash, dataHash] = [await hashModelDir(f.sft), await hashModelDir(f.dpo), await sha256File(f.data)];

  const src = await FileSource.open(f.data);
  const report = newReport(f.data);
  const mode = { chat: f.chatTemplate, format: promptFormat };
  const fields = { promptField: f.promptField, chosenField: f.chosenField, rejectedField: f.rejectedField };
  const readerOpts = Object.fromEntries(Object.entries(fields).filter(([, v]) => v !== undefined));
  let layout: string | null = null;
  async function* pairs(): AsyncGenerator<PreferencePair> {
    for await (const rec of readPreferenceFile(src, report, readerOpts)) {
      layout ??= rec.kind === 'hh' ? 'hh-rlhf transcripts' : 'message lists (UltraFeedback/Tulu or generic fields)';
      yield recordToPair(rec, mode);
    }
  }
  const bar = progress('extract: pairs kept', maxPairs);
  let scanned = 0;
  let result;
  try {
    result = await extractVectors(sft, dpo, pairs(), {
      maxPairs,
      maxScan,
      filter,
      method,
      read,
      component,
      spectralSamples,
      ...(spectralLayers ? { spectralLayers } : {}),
      batch,
      provenance: {
        models: { sft: { path: f.sft, hash: sftHash }, dpo: { path: f.dpo, hash: dpoHash } },
        dataset: { path: f.data, hash: dataHash, ...readerOpts },
        prompt_format: f.chatTemplate ? promptFormat : 'raw transcript (no chat template)',
        chat_template: f.chatTemplate,
        device: backend.note.replace(/^device: /, ''),
      },
      onProgress: (p) => {
        scanned = p.scanned;
        bar.update(p.kept, `(${p.scanned} scanned, ${(p.scanned / (p.elapsedMs / 1000)).toFixed(2)} pairs/s)`);
      },
    });
  } finally {
    bar.done(`(${scanned} scanned)`);
    await src.close();
    note(formatReport(report));
  }
  (result.provenance.dataset as Record<string, unknown>).layout = layout;
  if (result.diagnostics.pairs < maxPairs) {
    note(`kept ${result.diagnostics.pairs} of the ${maxPairs} pairs asked for (${result.diagnostics.filter.scanned} scanned; --max-scan ${maxScan}, or the data ran out)`);
  }
  mkdirSync(dirname(outs.vector), { recursive: true });
  writeFileSync(outs.vector, encodeVectorFile(result.vectors, result.provenance));
  writeFileSync(outs.diagnostics, JSON.stringify(result.diagnostics, null, 1) + '\n');
  writeFileSync(outs.samples, encodeSamplesFile(result.samples, result.diagnostics.pairs));
  note(`wrote ${outs.vector}, ${outs.diagnostics}, ${outs.samples} (${result.samples.count} samples x ${result.samples.layers.length} layers)`);
  if (format === 'json') printJson(result.diagnostics);
  else process.stdout.write(diagnosticsTable(result.diagnostics) + '\n');
}

export function registerExtract(program: Command): void {
  const c = program
    .command('extract')
    .description('extract D-STEER steering vectors: mean (or principal component) of h_DPO - h_SFT at the last token, every hook_resid_post, over filtered preference pairs')
    .requiredOption('--sft <dir>', 'the SFT model folder')
    .requiredOption('--dpo <dir>', 'the DPO model folder (same architecture and tokenizer)')
    .requiredOption('--data <file>', 'preference pairs: HH-RLHF transcripts (.jsonl/.jsonl.gz), UltraFeedback/Tulu message lists (.jsonl/.jsonl.gz/.parquet), or generic rows with the field flags')
    .requiredOption('--out <file>', 'vector file to write (NAME.safetensors; NAME.diagnostics.json and NAME.samples.safetensors go beside it)')
    .option('--max-pairs <n>', 'stop after this many kept pairs', '10000')
    .option('--max-scan <n>', 'scan at most this many pairs (default: 2 x --max-pairs)')
    .addOption(new Option('--filter <name>', 'which pairs to keep: DPO log p(chosen) >= log p(rejected) summed (the authors\'), per token, implicit reward margin > 0, or all').choices([...PAIR_FILTERS]).default('dpo-prefers-chosen'))
    .addOption(new Option('--prompt-format <format>', 'chat prompt format: the authors\' one user message, or one message per turn').choices(['one-message', 'turns']).default('one-message'))
    .option('--no-chat-template', 'feed raw transcripts instead of chat-rendered prompts')
    .addOption(new Option('--method <method>', 'mean difference, or a principal component of the centred per-sample differences').choices(['mean', 'pc']).default('mean'))
    .addOption(new Option('--read <position>', 'where states are read: the last token of prompt + answer (the authors\') or the last prompt token, where the model chooses how to answer').choices([...READ_POSITIONS]).default('last'))
    .option('--component <k>', 'with --method pc: the 0-based component (default: 0)')
    .option('--spectral-samples <n>', 'per-sample differences kept for pc and NAME.samples.safetensors (the first N kept pairs)', '2000')
    .option('--spectral-layers <list>', 'layers kept per sample, e.g. 16,17,18 (default: all when the store stays under ~1 GB, else the upper half)')
    .option('--batch <n>', 'pairs per model pass (2 conversations each)', '8')
    .option('--prompt-field <name>', 'generic rows: the prompt field (a string or a message list; default: prompt)')
    .option('--chosen-field <name>', 'generic rows: the chosen answer field (default: chosen)')
    .option('--rejected-field <name>', 'generic rows: the rejected answer field (default: rejected)');
  commonOptions(c).action(async (opts) => runExtract(opts));
}
