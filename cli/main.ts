/**
 * The `dsteer` command line: argument parsing and usage text, then library calls. Every user error
 * is one line on stderr and a non-zero exit (1 = bad input or data, 2 = bad usage); stack traces
 * only with DEBUG=1.
 */
import { Command, CommanderError, Option } from 'commander';
import { DsteerError } from '../engine/errors.js';
import { closeBackends } from './common.js';
import { runBench } from './bench.js';
import { runGenerate } from './generate.js';
import { runScorePairs } from './score-pairs.js';
import { runTrain } from './train.js';
import { runInspect } from './inspect.js';
import { commonOptions, promptOptions, steerOptions } from './options.js';
// -- command imports --
import { registerAqi } from './aqi.js';
import { registerUi } from './ui.js';
import { registerServe } from './serve.js';
import { registerSpectral } from './spectral.js';
import { registerVector } from './vector.js';
import { registerEval } from './eval.js';
import { registerExtract } from './extract.js';
import { registerSweep } from './sweep.js';
import { registerDemo } from './demo.js';

const VERSION = '0.1.0';

export function buildProgram(): Command {
  const program = new Command('dsteer')
    .description('A TypeScript transformer engine with residual-stream steering (D-STEER: DPO as a steering vector).')
    .version(VERSION)
    .showHelpAfterError(false)
    .configureOutput({ outputError: (str, write) => write(`dsteer: ${str.replace(/^error: /, 'error: ').trim()}\n`) })
    .exitOverride();

  const gen = program
    .command('generate')
    .description('generate a continuation of a prompt (greedy by default), optionally steered')
    .requiredOption('--model <dir>', 'Hugging Face model folder (config.json, *.safetensors, tokenizer.json)')
    .option('--max-new-tokens <n>', 'most tokens to generate', '128')
    .option('--temperature <t>', 'sampling temperature; 0 = greedy', '0')
    .option('--top-p <p>', 'nucleus sampling mass in (0, 1]', '1')
    .option('--seed <s>', 'seed of the sampling stream', '0');
  promptOptions(gen);
  steerOptions(gen);
  commonOptions(gen).action(async (opts) => runGenerate(opts));

  const ins = program
    .command('inspect')
    .description('print hook values (residual stream) and logits at the last prompt token')
    .requiredOption('--model <dir>', 'Hugging Face model folder')
    .option('--hooks <list>', '"all" or hook names, comma-separated (blocks.{l}.hook_resid_pre|hook_resid_mid|hook_resid_post, ln_final.hook_normalized)', 'all')
    .option('--top <k>', 'text format: how many top next tokens to list', '5');
  promptOptions(ins);
  steerOptions(ins);
  commonOptions(ins).action(async (opts) => runInspect(opts));

  const sp = program
    .command('score-pairs')
    .description('score preference pairs (HH-RLHF .jsonl/.jsonl.gz): summed and per-token log-likelihood of chosen vs rejected, and DPO implicit rewards against --ref')
    .requiredOption('--model <dir>', 'the model to score with (e.g. the DPO model)')
    .option('--ref <dir>', 'reference model for implicit rewards log p_model - log p_ref (e.g. the SFT model)')
    .requiredOption('--data <file>', 'HH-RLHF transcripts: {"chosen": ..., "rejected": ...} per line')
    .option('--max-pairs <n>', 'stop after this many pairs')
    .addOption(new Option('--prompt-format <format>', 'chat prompt format: the authors\' one user message, or one message per turn').choices(['one-message', 'turns']).default('one-message'))
    .option('--no-chat-template', 'score raw transcripts instead of chat-rendered prompts');
  commonOptions(sp).action(async (opts) => runScorePairs(opts));

  program
    .command('train')
    .description('build the micro world: generated data, a BPE tokenizer, an SFT model and its DPO sibling (HF folders), deterministic for a seed')
    .addOption(new Option('--preset <name>', 'micro (the shipped pair) or nano (seconds; tests)').choices(['micro', 'nano']).default('micro'))
    .requiredOption('--out <dir>', 'folder to write data/, sft/, dpo/ and build-report.json into')
    .option('--seed <s>', 'seed of the whole build', '1')
    .option('--resume', 'continue an interrupted build from DIR/checkpoints (the result is byte-identical to an uninterrupted build)')
    .option('--checkpoint-every <n>', 'steps between checkpoints', '50')
    .addOption(new Option('--format <format>', 'how to print the build report').choices(['text', 'json']).default('text'))
    .action(async (opts) => runTrain(opts));

  program
    .command('bench')
    .description('benchmarks: kernels (WebGPU kernels vs the device peak), e2e (prefill/decode tok/s, dispatches), steering (overhead, lambda-grid batching), cpu (twins, stories260k, load memory), experiment (sweep tokens/s lambda-batched vs per lambda, extraction pairs/s, on the micro pair)')
    .addOption(new Option('--suite <suite>', 'which suite (train: trainer tokens/s, --steps up to 10 SFT and DPO steps; not in all)').choices(['kernels', 'e2e', 'steering', 'cpu', 'experiment', 'train', 'all']).default('all'))
    .addOption(new Option('--device <device>', 'backend (default: webgpu for kernels, auto otherwise)').choices(['auto', 'cpu', 'webgpu']))
    .addOption(new Option('--format <format>', 'a table, or one JSON line per result').choices(['text', 'json']).default('text'))
    .option('--config <name>', 'random-weight model for e2e/steering: tiny, small, 8b (default: small on CPUs and software adapters, 8b on a GPU)')
    .option('--steps <n>', 'decode steps per measurement', '32')
    .option('--reps <n>', 'timed repetitions per kernel case', '10')
    .option('--prompts <n>', 'prompts per lambda in the lambda-grid measurement', '1')
    .option('--model <dir>', 'cpu suite: model folder for the decode measurement (default ../shared/models/stories260k)')
    .addOption(new Option('--weight-dtype <dtype>', 'e2e/steering on a GPU: weight storage').choices(['f32', 'f16']).default('f32'))
    .option('--out <file>', 'also append JSON lines to this file')
    .action(async (opts) => runBench(opts));

  // Commands defined in their own files register here, one line each (registerX(program)).
  // -- command registrations --
  registerAqi(program);
  registerUi(program);
  registerServe(program);
  registerSpectral(program);
  registerVector(program);
  registerEval(program);
  registerExtract(program);
  registerSweep(program);
  registerDemo(program);

  for (const c of program.commands) c.exitOverride().configureOutput({ outputError: (str, write) => write(`dsteer ${c.name()}: ${str.trim()}\n`) });
  return program;
}

export async function main(argv: string[]): Promise<number> {
  const program = buildProgram();
  try {
    await program.parseAsync(argv, { from: 'user' });
    return 0;
  } catch (e) {
    if (e instanceof CommanderError) {
      // help and version end here too, with exit code 0
      return e.exitCode === 0 ? 0 : 2;
    }
    if (e instanceof DsteerError) {
      process.stderr.write(`dsteer: error: ${e.message}\n`);
      if (process.env['DEBUG'] === '1') process.stderr.write(`${e.stack}\n`);
      return e.exitCode;
    }
    const err = e as Error;
    if (process.env['DEBUG'] === '1') process.stderr.write(`${err.stack ?? String(err)}\n`);
    else process.stderr.write(`dsteer: internal error: ${err.message ?? String(err)} (run with DEBUG=1 for the stack trace)\n`);
    return 70;
  } finally {
    closeBackends();
  }
}

process.exitCode = await main(process.argv.slice(2));
