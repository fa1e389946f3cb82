/**
 * Messages between the page (main.ts) and the engine worker (worker.ts). Every request carries an
 * id; answers echo it. The worker runs one job at a time and drops queued generate/activation jobs
 * that a newer one of the same kind has superseded (a slider dragged fast).
 */

/** One chat message (the user turn of a prompt). */
export interface Msg {
  role: 'system' | 'user' | 'assistant';
  content: string;
}

export type Which = 'sft' | 'dpo' | 'steered';

export type Request =
  | { type: 'init'; id: number; backend: 'auto' | 'webgpu' | 'cpu'; base: string }
  | { type: 'generate'; id: number; messages: Msg[]; which: Which[]; lambda: number; layers: number[]; maxNewTokens: number }
  | { type: 'activations'; id: number; messages: Msg[]; layers: number[]; lambdas: number[] };

export interface ExamplePrompt {
  dataset: string;
  index: number;
  prompt: string;
  messages: Msg[];
}

export type Reply =
  | {
      type: 'ready';
      id: number;
      backend: 'webgpu' | 'cpu';
      /** The backend's one-line description (adapter name for WebGPU). */
      description: string;
      /** Why the CPU backend runs, when WebGPU was wanted but not available. */
      fallback: string | null;
      loadMs: number;
      nLayers: number;
      vectorLayers: number[];
      examples: ExamplePrompt[];
    }
  | { type: 'token'; id: number; which: Which; ids: number[]; text: string }
  | { type: 'done'; id: number; which: Which; model: 'sft' | 'dpo'; lambda: number; promptIds: number[]; ids: number[]; text: string; ms: number; finish: 'stop' | 'length' }
  | { type: 'shift'; id: number; pieces: string[]; shift: number[] }
  | { type: 'activations'; id: number; hook: string; points: ActivationPoint[] }
  | { type: 'skipped'; id: number }
  | { type: 'error'; id: number; message: string };

/** One captured state: which model ran, with which lambda, and the hook's values at the last prompt token. */
export interface ActivationPoint {
  model: 'sft' | 'dpo';
  lambda: number;
  state: number[];
}

/** The model steered for a signed lambda (the paper's convention: >= 0 steers SFT, < 0 steers DPO). */
export function steeredModel(lambda: number): 'sft' | 'dpo' {
  return lambda >= 0 ? 'sft' : 'dpo';
}
