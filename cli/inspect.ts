/** `dsteer inspect`: hook values and logits at the last prompt token. */
import { FINAL_HOOK } from '../models/hooks.js';
import { feed } from '../models/run.js';
import { DsteerError } from '../engine/errors.js';
import { chooseBackend, note, openModel, printJson, promptIds, steeringFromFlags, type PromptFlags, type SteerFlags } from './common.js';

export interface InspectFlags extends PromptFlags, SteerFlags {
  model: string;
  hooks: string;
  device: string;
  weightDtype: string;
  format: string;
  top: string;
}

function norm(v: Float32Array): number {
  let s = 0;
  for (const x of v) s += x * x;
  return Math.sqrt(s);
}

export async function runInspect(f: InspectFlags): Promise<void> {
  if (f.format !== 'json' && f.format !== 'text') throw new DsteerError(`--format: "${f.format}" is not one of text, json`, 2);
  const backend = await chooseBackend(f.device, f.weightDtype);
  note(backend.note);
  const { model, tokenizer } = await openModel(f.model, backend.kernels);
  const ids = promptIds(f, tokenizer, model.cfg.vocabSize);
  const plan = await steeringFromFlags(f, model.cfg);
  if (plan) note(`steering: ${plan.sites.map((s) => `${s.hook} x ${s.lambda}`).join(', ')}`);
  const hooks = f.hooks === 'all' ? 'all' : f.hooks.split(',').map((h) => h.trim()).filter((h) => h !== '');
  if (hooks !== 'all' && hooks.length === 0) throw new DsteerError('--hooks: give "all" or a comma-separated list of hook names', 2);
  const n = ids.length;
  let logits = new Float32Array(0);
  let captured = new Map<string, Float32Array>();
  const order = await feed(model, [{ ids, ...(plan ? { steer: plan.seq(n) } : {}), logits: { from: n - 1, to: n }, capture: { from: n - 1, to: n } }], {
    ...(plan ? { steering: plan.setup } : {}),
    hooks,
    onLogits: (_s, _p, row) => (logits = row.slice()),
    onCapture: (_s, _p, h) => (captured = new Map([...h].map(([k, v]) => [k, v.slice()]))),
  });
  if (f.format === 'json') {
    printJson({ prompt_ids: ids, hooks: Object.fromEntries(order.map((h) => [h, Array.from(captured.get(h)!)])), logits: Array.from(logits) });
    return;
  }
  const top = Math.max(1, Number(f.top) || 5);
  const lines = [`prompt ids (${n}): ${ids.join(' ')}`, `last token: ${ids[n - 1]} ${JSON.stringify(tokenizer.tokenString(ids[n - 1]!))}`, '', 'hook                              norm        first values'];
  for (const h of order) {
    const v = captured.get(h)!;
    lines.push(`${h.padEnd(32)} ${norm(v).toFixed(4).padStart(10)}  ${Array.from(v.subarray(0, 4), (x) => x.toFixed(4)).join(' ')}${h === FINAL_HOOK ? '' : ' ...'}`);
  }
  const best = Array.from(logits.keys()).sort((a, b) => logits[b]! - logits[a]! || a - b).slice(0, top);
  lines.push('', `top ${top} next tokens (logit):`);
  for (const id of best) lines.push(`  ${String(id).padStart(6)} ${JSON.stringify(tokenizer.tokenString(id)).padEnd(16)} ${logits[id]!.toFixed(4)}`);
  process.stdout.write(lines.join('\n') + '\n');
}
