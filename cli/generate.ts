/** `dsteer generate`: text (or ids) in, a continuation out, optionally steered. */
import { generate } from '../models/generate.js';
import { parseIntIn, parseNumber } from './args.js';
import { chooseBackend, note, openModel, printJson, promptIds, steeringFromFlags, type PromptFlags, type SteerFlags } from './common.js';
import { DsteerError } from '../engine/errors.js';

export interface GenerateFlags extends PromptFlags, SteerFlags {
  model: string;
  maxNewTokens: string;
  temperature: string;
  topP: string;
  seed: string;
  device: string;
  weightDtype: string;
  format: string;
}

export async function runGenerate(f: GenerateFlags): Promise<void> {
  const format = f.format === 'json' ? 'json' : f.format === 'text' ? 'text' : (() => { throw new DsteerError(`--format: "${f.format}" is not one of text, json`, 2); })();
  const maxNewTokens = parseIntIn('--max-new-tokens', f.maxNewTokens, 0);
  const temperature = parseNumber('--temperature', f.temperature);
  if (temperature < 0) throw new DsteerError(`--temperature: ${temperature} must be >= 0 (0 = greedy)`, 2);
  const topP = parseNumber('--top-p', f.topP);
  if (!(topP > 0 && topP <= 1)) throw new DsteerError(`--top-p: ${topP} must be in (0, 1]`, 2);
  const seed = parseIntIn('--seed', f.seed, 0, 2 ** 32 - 1);
  const backend = await chooseBackend(f.device, f.weightDtype);
  note(backend.note);
  const { model, tokenizer } = await openModel(f.model, backend.kernels);
  const ids = promptIds(f, tokenizer, model.cfg.vocabSize);
  const plan = await steeringFromFlags(f, model.cfg);
  if (plan) note(`steering: ${plan.sites.map((s) => `${s.hook} x ${s.lambda}`).join(', ')}${plan.setup.preserveNorm ? ' (norm-preserving)' : ''}`);
  const stream = format === 'text' && process.stdout.isTTY === true;
  let shown = '';
  const out: number[] = [];
  const [res] = await generate(
    model,
    [{ promptIds: ids, maxNewTokens, temperature, topP, seed, ...(plan ? { steer: plan.seq(ids.length) } : {}) }],
    {
      ...(plan ? { steering: plan.setup } : {}),
      onToken: (_r, id) => {
        if (!stream) return;
        out.push(id);
        const text = tokenizer.decode(out);
        // print only what is stable: a partial multi-byte character decodes to U+FFFD until complete
        if (text.startsWith(shown) && !text.endsWith('\uFFFD')) {
          process.stdout.write(text.slice(shown.length));
          shown = text;
        }
      },
    },
  );
  const text = tokenizer.decode(res!.ids);
  if (format === 'json') {
    printJson({ prompt_ids: ids, ids: res!.ids, text, finish: res!.finish });
  } else if (stream) {
    process.stdout.write(text.slice(shown.length) + '\n');
  } else {
    process.stdout.write(text + '\n');
  }
}
