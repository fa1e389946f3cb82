/**
 * The command line as a user runs it: `node bin/dsteer.js ...` (what `npx dsteer` runs), against
 * the compiled dist/ that `npm ci` / `npm test` build. Data on stdout, notes and errors on stderr,
 * one error line and a non-zero exit for every user error, no stack trace.
 */
import { spawnSync } from 'node:child_process';
import { copyFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allHookNames } from '../../models/hooks.js';
import { haveShared, repoPath, sharedPath } from '../helpers.js';

function dsteer(...args: string[]): { code: number; out: string; err: string } {
  return dsteerEnv({}, ...args);
}

function dsteerEnv(env: Record<string, string>, ...args: string[]): { code: number; out: string; err: string } {
  const r = spawnSync(process.execPath, [repoPath('bin/dsteer.js'), ...args], { encoding: 'utf8', env: { ...process.env, DEBUG: '', ...env } });
  return { code: r.status ?? -1, out: r.stdout, err: r.stderr };
}

/** A user error: non-zero exit, exactly one `dsteer...: error:` line, no stack trace. */
function expectUserError(r: { code: number; err: string }, pattern: RegExp, code?: number): void {
  if (code !== undefined) expect(r.code).toBe(code);
  else expect(r.code).toBeGreaterThan(0);
  const errLines = r.err.split('\n').filter((l) => /error/.test(l));
  expect(errLines).toHaveLength(1);
  expect(errLines[0]).toMatch(pattern);
  // no JavaScript stack trace (Dawn's own native log lines, printed by the driver, are not ours)
  expect(r.err).not.toMatch(/\n\s+at .*\.(js|ts):\d+/);
}

const haveFx = haveShared('fixtures/tiny-qwen2-f16-tied/golden.json');
const QWEN = sharedPath('fixtures/tiny-qwen2-f16-tied');
const MISTRAL = sharedPath('fixtures/tiny-mistral-f32');

describe('help', () => {
  for (const cmd of [[], ['generate'], ['inspect']]) {
    it(`dsteer ${cmd.join(' ')} --help exits 0 and shows defaults`, () => {
      const r = dsteer(...cmd, '--help');
      expect(r.code).toBe(0);
      expect(r.out).toMatch(/Usage: dsteer/);
      if (cmd.length > 0) expect(r.out).toMatch(/default: "auto"/);
    });
  }
});

describe.skipIf(!haveFx)(`generate and inspect on the golden fixtures${haveFx ? '' : ' (SKIPPED: ../shared absent)'}`, () => {
  it('inspect --hooks all --format json returns every hook and the logits, matching the oracle', () => {
    const golden = JSON.parse(readFileSync(join(QWEN, 'golden.json'), 'utf8')).cases[0];
    const r = dsteer('inspect', '--model', QWEN, '--ids', golden.prompt_ids.join(','), '--hooks', 'all', '--format', 'json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(Object.keys(j.hooks)).toEqual(allHookNames(2));
    for (const v of Object.values(j.hooks) as number[][]) expect(v).toHaveLength(48);
    expect(j.logits).toHaveLength(320);
    j.logits.forEach((x: number, i: number) => expect(Math.abs(x - golden.last_logits[i])).toBeLessThan(1e-3));
    expect(r.err).toMatch(/device: cpu/);
  });

  it('generate with --vector/--lambda/--layers reproduces the steered oracle transcript', () => {
    const c = JSON.parse(readFileSync(join(MISTRAL, 'golden.json'), 'utf8')).cases.find((x: { name: string }) => x.name === 'steered-8');
    const r = dsteer('generate', '--model', MISTRAL, '--ids', c.prompt_ids.join(','), '--max-new-tokens', String(c.greedy_ids.length),
      '--temperature', '0', '--vector', join(MISTRAL, 'steer.safetensors'), '--lambda', String(c.steer.lambda), '--layers', c.steer.layers.join(','), '--format', 'json');
    expect(r.code).toBe(0);
    const j = JSON.parse(r.out);
    expect(j.prompt_ids).toEqual(c.prompt_ids);
    expect(j.ids).toEqual(c.greedy_ids);
    expect(typeof j.text).toBe('string');
    expect(r.err).toMatch(/steering: blocks.2.hook_resid_post x 0.75, blocks.3.hook_resid_post x 0.75/);
  });

  it('negative lambdas parse (--lambda -0.6) and change the output', () => {
    const base = dsteer('inspect', '--model', QWEN, '--ids', '1,5,9', '--hooks', 'blocks.1.hook_resid_post', '--format', 'json');
    const neg = dsteer('inspect', '--model', QWEN, '--ids', '1,5,9', '--hooks', 'blocks.1.hook_resid_post', '--format', 'json',
      '--vector', join(QWEN, 'steer.safetensors'), '--lambda', '-0.6', '--layers', '1');
    expect(neg.code).toBe(0);
    const a = JSON.parse(base.out).hooks['blocks.1.hook_resid_post'];
    const b = JSON.parse(neg.out).hooks['blocks.1.hook_resid_post'];
    expect(b).not.toEqual(a);
  });

  it('--chat renders the chat template (one BOS) and --prompt encodes plain text', () => {
    const d = mkdtempSync(join(tmpdir(), 'dsteer-cli-'));
    for (const f of ['config.json', 'tokenizer.json', 'model.safetensors', 'steer.safetensors']) copyFileSync(join(QWEN, f), join(d, f));
    const template = '{{ bos_token }}{% for m in messages %} <7> {{ m.content }}{% endfor %}{% if add_generation_prompt %} <8>{% endif %}';
    writeFileSync(join(d, 'tokenizer_config.json'), JSON.stringify({ bos_token: '<1>', eos_token: '<2>', unk_token: '<0>', chat_template: template }));
    const chat = dsteer('generate', '--model', d, '--chat', '<5> <9>', '--max-new-tokens', '4', '--format', 'json',
      '--vector', join(d, 'steer.safetensors'), '--lambda', '0.4', '--layers', '0,1');
    expect(chat.code).toBe(0);
    expect(JSON.parse(chat.out).prompt_ids).toEqual([1, 7, 5, 9, 8]);
    const plain = dsteer('generate', '--model', d, '--prompt', '<1> <5> <9>', '--max-new-tokens', '2', '--format', 'json');
    expect(JSON.parse(plain.out).prompt_ids).toEqual([1, 5, 9]);
    // a model without a chat template: --chat is refused with the reason
    expectUserError(dsteer('generate', '--model', QWEN, '--chat', 'hi'), /chat_template/, 1);
  });

  it('score-pairs: JSON summary with implicit rewards, malformed rows reported with their line', () => {
    const d = mkdtempSync(join(tmpdir(), 'dsteer-cli-'));
    const data = join(d, 'pairs.jsonl');
    writeFileSync(data, [
      JSON.stringify({ chosen: '\n\nHuman: <5> <6>\n\nAssistant: <9> <13>', rejected: '\n\nHuman: <5> <6>\n\nAssistant: <20>' }),
      'not json',
      JSON.stringify({ chosen: '\n\nHuman: <7>\n\nAssistant: <3>', rejected: '\n\nHuman: <7>\n\nAssistant: <4> <8>' }),
    ].join('\n') + '\n');
    const r = dsteer('score-pairs', '--model', QWEN, '--ref', QWEN, '--data', data, '--no-chat-template', '--format', 'json');
    expect(r.code, r.err).toBe(0);
    const j = JSON.parse(r.out);
    expect(Object.keys(j).sort()).toEqual(['accuracy', 'mean_margin', 'mean_reward_margin', 'normalized_accuracy', 'pairs', 'reward_accuracy']);
    expect(j.pairs).toBe(2);
    expect(j.reward_accuracy).toBe(0); // a model against itself: every implicit reward is 0
    expect(r.err).toMatch(/3 rows read, 2 used, 1 malformed \(line 2: not JSON\)/);
    expectUserError(dsteer('score-pairs', '--model', QWEN, '--data', data), /has no chat template; pass --no-chat-template/, 2);
  });

  it('text output of generate and inspect', () => {
    const g = dsteer('generate', '--model', QWEN, '--ids', '1', '--max-new-tokens', '3');
    expect(g.code).toBe(0);
    expect(g.out.trim()).toMatch(/^(<\d+> ?){1,3}$/);
    const i = dsteer('inspect', '--model', QWEN, '--ids', '1,5', '--hooks', 'ln_final.hook_normalized');
    expect(i.code).toBe(0);
    expect(i.out).toMatch(/ln_final.hook_normalized/);
    expect(i.out).toMatch(/top 5 next tokens/);
  });
});

describe('user errors: one clear line, non-zero exit', () => {
  it('missing model folder', () => expectUserError(dsteer('generate', '--model', '/no/such/dir', '--ids', '1'), /\/no\/such\/dir: no such directory/, 1));
  it('missing --model', () => expectUserError(dsteer('generate', '--ids', '1'), /required option '--model <dir>'/, 2));
  it('unknown flag', () => expectUserError(dsteer('inspect', '--model', 'x', '--bogus'), /unknown option '--bogus'/, 2));
  it('bad --device', () => expectUserError(dsteer('generate', '--model', 'x', '--ids', '1', '--device', 'tpu'), /--device.*tpu.*Allowed choices are auto, cpu, webgpu/, 2));

  describe.skipIf(!haveFx)('with a model', () => {
    it('folder without config.json', () => expectUserError(dsteer('generate', '--model', sharedPath('fixtures'), '--ids', '1'), /config.json: missing/, 1));
    it('unsupported model type names the field and value', () => {
      const d = mkdtempSync(join(tmpdir(), 'dsteer-cli-'));
      const cfg = JSON.parse(readFileSync(join(QWEN, 'config.json'), 'utf8'));
      writeFileSync(join(d, 'config.json'), JSON.stringify({ ...cfg, model_type: 'gpt2' }));
      expectUserError(dsteer('generate', '--model', d, '--ids', '1'), /config.json: field "model_type" is "gpt2" \(supported: llama, mistral, qwen2\)/, 1);
    });
    it('corrupt safetensors names the file', () => {
      const d = mkdtempSync(join(tmpdir(), 'dsteer-cli-'));
      for (const f of ['config.json', 'tokenizer.json', 'tokenizer_config.json']) copyFileSync(join(QWEN, f), join(d, f));
      writeFileSync(join(d, 'model.safetensors'), Buffer.from([1, 2, 3]));
      expectUserError(dsteer('generate', '--model', d, '--ids', '1'), /model.safetensors/, 1);
    });
    it('no prompt flag', () => expectUserError(dsteer('generate', '--model', QWEN), /exactly one of --prompt, --chat, --ids/, 2));
    it('two prompt flags', () => expectUserError(dsteer('generate', '--model', QWEN, '--ids', '1', '--prompt', 'x'), /exactly one of --prompt, --chat, --ids/, 2));
    it('token id outside the vocabulary', () => expectUserError(dsteer('generate', '--model', QWEN, '--ids', '1,320'), /--ids: token id 320 is outside the vocabulary/, 2));
    it('bad --ids list', () => expectUserError(dsteer('generate', '--model', QWEN, '--ids', '1,,2'), /--ids/, 2));
    it('--lambda without --vector', () => expectUserError(dsteer('generate', '--model', QWEN, '--ids', '1', '--lambda', '0.3'), /--lambda needs --vector/, 2));
    it('--vector without --lambda', () => expectUserError(dsteer('generate', '--model', QWEN, '--ids', '1', '--vector', join(QWEN, 'steer.safetensors')), /--vector needs --lambda/, 2));
    it('missing vector file', () => expectUserError(dsteer('generate', '--model', QWEN, '--ids', '1', '--vector', '/no/v.safetensors', '--lambda', '1'), /\/no\/v.safetensors: cannot open/, 1));
    it('vector of another hidden size', () => expectUserError(dsteer('generate', '--model', QWEN, '--ids', '1', '--vector', join(MISTRAL, 'steer.safetensors'), '--lambda', '1'), /hidden size is 48/, 1));
    it('layer absent from the vector file', () => expectUserError(dsteer('generate', '--model', QWEN, '--ids', '1', '--vector', join(QWEN, 'steer.safetensors'), '--lambda', '1', '--layers', '7'), /no vector for layer 7/, 1));
    it('wrong number of lambdas', () => expectUserError(dsteer('generate', '--model', QWEN, '--ids', '1', '--vector', join(QWEN, 'steer.safetensors'), '--lambda', '1,2,3'), /3 values given for 2 steered layers/, 1));
    it('bad hook name', () => expectUserError(dsteer('inspect', '--model', QWEN, '--ids', '1', '--hooks', 'blocks.0.attn'), /--hooks: "blocks.0.attn" is not a hook name/, 1));
    it('bad --top-p', () => expectUserError(dsteer('generate', '--model', QWEN, '--ids', '1', '--top-p', '0'), /--top-p/, 2));
    it('--device webgpu without any adapter says why', () =>
      expectUserError(dsteerEnv({ VK_ICD_FILENAMES: '/nonexistent/icd.json' }, 'generate', '--model', QWEN, '--ids', '1', '--device', 'webgpu'), /--device webgpu: no WebGPU adapter/, 1));
    it('--device auto without a hardware GPU uses the CPU and says why', () => {
      const r = dsteerEnv({ VK_ICD_FILENAMES: '/nonexistent/icd.json' }, 'generate', '--model', QWEN, '--ids', '1', '--max-new-tokens', '1');
      expect(r.code).toBe(0);
      expect(r.err).toMatch(/device: cpu .*auto: no WebGPU adapter/);
    });
    it('a prompt longer than the context', () => expectUserError(dsteer('generate', '--model', QWEN, '--ids', '1', '--max-new-tokens', '100000'), /exceed the model's context of 256/, 1));
  });
});
