/** Option groups shared by several commands (prompt, steering, device/format). */
import { Option, type Command } from 'commander';

export function promptOptions(c: Command): Command {
  return c
    .option('--prompt <text>', 'plain text, encoded as Hugging Face tokenizer(text) does (BOS per the tokenizer)')
    .option('--chat <text>', 'one user message, rendered with the model\'s chat template and a generation prompt')
    .option('--ids <ids>', 'token ids, comma-separated, used verbatim (e.g. 1,5,9)');
}

export function steerOptions(c: Command): Command {
  return c
    .option('--vector <file>', 'steering vector file (safetensors, one tensor per hook name)')
    .option('--lambda <x>', 'steering strength: one value, or one per layer (comma-separated; negative values allowed)')
    .option('--layers <list>', 'layers to steer at hook_resid_post, e.g. 27,28 (default: every vector in the file)')
    .option('--preserve-norm', 'rescale each steered row to its norm before steering', false)
    .addOption(new Option('--steer-positions <which>', 'steer every position or generated tokens only').choices(['all', 'generated']).default('all'));
}

export function commonOptions(c: Command): Command {
  return c
    .addOption(new Option('--device <device>', 'backend: auto = a hardware GPU when one exists, else the CPU; webgpu also accepts CPU-emulated adapters (lavapipe)').choices(['auto', 'cpu', 'webgpu']).default('auto'))
    .addOption(new Option('--weight-dtype <dtype>', 'GPU weight storage (f16 needs shader-f16; accumulation is f32)').choices(['f32', 'f16']).default('f32'))
    .addOption(new Option('--format <format>', 'output format').choices(['text', 'json']).default('text'));
}
