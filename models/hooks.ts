/**
 * Hook names (TransformerLens's) and their semantics. The same string is the capture key, the
 * tensor name in a vector file and the CLI value.
 *
 * - `blocks.{l}.hook_resid_pre`  residual stream entering block l (= hook_resid_post of block l-1;
 *                                for l = 0 the token embeddings)
 * - `blocks.{l}.hook_resid_mid`  after attention's residual add in block l
 * - `blocks.{l}.hook_resid_post` after the MLP's residual add in block l (raw, before any final norm)
 * - `ln_final.hook_normalized`   after the final RMSNorm
 */
import { DsteerError } from '../engine/errors.js';

export type HookSite = 'resid_pre' | 'resid_mid' | 'resid_post' | 'final_norm';

export interface HookPoint {
  site: HookSite;
  /** Block index; -1 for ln_final. */
  layer: number;
}

/** The sites a steering vector may be added at (the two residual writes of a block). */
export const STEERABLE_SITES: readonly HookSite[] = ['resid_mid', 'resid_post'];

const BLOCK_RE = /^blocks\.(\d+)\.hook_(resid_pre|resid_mid|resid_post)$/;
export const FINAL_HOOK = 'ln_final.hook_normalized';

/** Parses a hook name; returns null when the string is not one. */
export function parseHookName(name: string): HookPoint | null {
  if (name === FINAL_HOOK) return { site: 'final_norm', layer: -1 };
  const m = BLOCK_RE.exec(name);
  if (!m) return null;
  const layer = Number(m[1]);
  if (!Number.isSafeInteger(layer)) return null;
  return { site: m[2] as HookSite, layer };
}

/** The canonical name of a hook point. */
export function hookName(p: HookPoint): string {
  return p.site === 'final_norm' ? FINAL_HOOK : `blocks.${p.layer}.hook_${p.site}`;
}

/** Every hook of a model in forward order (`--hooks all`). */
export function allHookNames(nLayers: number): string[] {
  const out: string[] = [];
  for (let l = 0; l < nLayers; l++) {
    for (const s of ['resid_pre', 'resid_mid', 'resid_post'] as const) out.push(hookName({ site: s, layer: l }));
  }
  out.push(FINAL_HOOK);
  return out;
}

/** Parses and range-checks a hook name given by a user; `what` names the flag or file. */
export function checkHookName(name: string, nLayers: number, what: string): HookPoint {
  const p = parseHookName(name);
  if (!p) {
    throw new DsteerError(
      `${what}: "${name}" is not a hook name (accepted: blocks.{l}.hook_resid_pre|hook_resid_mid|hook_resid_post, ${FINAL_HOOK})`,
    );
  }
  if (p.site !== 'final_norm' && p.layer >= nLayers) {
    throw new DsteerError(`${what}: "${name}" names block ${p.layer}, but the model has blocks 0..${nLayers - 1}`);
  }
  return p;
}
