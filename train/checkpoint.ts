/**
 * Training checkpoints: the parameters (f32), the AdamW moments (f64, so a resumed run continues
 * bit for bit) and the step reached, in one self-describing binary: an 8-byte little-endian header
 * length, a JSON header, then the tensors' bytes. A resumed run re-derives everything else
 * (shuffles, schedule, DPO reference log-probs) from the seed, so it ends with the same bytes as an
 * uninterrupted one.
 */
import { DsteerError } from '../engine/errors.js';
import { paramEntries, type TrainParams } from './model-train.js';

export interface Checkpoint {
  phase: string;
  step: number;
  steps: number;
  adamT: number;
  /** Losses of the steps done so far (so a resumed run reports its whole history). */
  losses: number[];
  params: Float32Array[];
  m: Float64Array[];
  v: Float64Array[];
}

interface Header {
  format: 'dsteer-checkpoint-1';
  phase: string;
  step: number;
  steps: number;
  adamT: number;
  losses: number[];
  tensors: { name: string; dtype: 'f32' | 'f64'; length: number }[];
}

/**
 * @example
 * const ck = { phase: 'sft', step: 3, steps: 10, adamT: 3, losses: [3, 2, 1], params: [new Float32Array([1, 2])], m: [new Float64Array([0.5, 0.25])], v: [new Float64Array(2)] };
 * const back = decodeCheckpoint(encodeCheckpoint(ck), 'x.ckpt');
 * assert(back.step === 3 && back.m[0][1] === 0.25 && back.params[0][1] === 2);
 */
export function encodeCheckpoint(c: Checkpoint): Uint8Array {
  const tensors: Header['tensors'] = [];
  const parts: Uint8Array[] = [];
  const add = (name: string, a: Float32Array | Float64Array): void => {
    tensors.push({ name, dtype: a instanceof Float64Array ? 'f64' : 'f32', length: a.length });
    parts.push(new Uint8Array(a.buffer, a.byteOffset, a.byteLength));
  };
  c.params.forEach((p, i) => add(`param.${i}`, p));
  c.m.forEach((p, i) => add(`m.${i}`, p));
  c.v.forEach((p, i) => add(`v.${i}`, p));
  const header: Header = { format: 'dsteer-checkpoint-1', phase: c.phase, step: c.step, steps: c.steps, adamT: c.adamT, losses: c.losses, tensors };
  let json = JSON.stringify(header);
  json += ' '.repeat((8 - ((8 + json.length) % 8)) % 8); // keep f64 data 8-byte aligned
  const head = new TextEncoder().encode(json);
  const total = 8 + head.length + parts.reduce((a, p) => a + p.byteLength, 0);
  const out = new Uint8Array(total);
  new DataView(out.buffer).setBigUint64(0, BigInt(head.length), true);
  out.set(head, 8);
  let off = 8 + head.length;
  for (const p of parts) {
    out.set(p, off);
    off += p.byteLength;
  }
  return out;
}

export function decodeCheckpoint(bytes: Uint8Array, file: string): Checkpoint {
  if (bytes.length < 8) throw new DsteerError(`${file}: not a checkpoint (too short)`);
  const n = Number(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength).getBigUint64(0, true));
  if (8 + n > bytes.length) throw new DsteerError(`${file}: not a checkpoint (header length ${n} exceeds the file)`);
  let h: Header;
  try {
    h = JSON.parse(new TextDecoder().decode(bytes.subarray(8, 8 + n))) as Header;
  } catch {
    throw new DsteerError(`${file}: not a checkpoint (header is not JSON)`);
  }
  if (h.format !== 'dsteer-checkpoint-1') throw new DsteerError(`${file}: unknown checkpoint format ${JSON.stringify(h.format)}`);
  let off = 8 + n;
  const take = (t: Header['tensors'][number]): Float32Array | Float64Array => {
    const size = t.length * (t.dtype === 'f64' ? 8 : 4);
    if (off + size > bytes.length) throw new DsteerError(`${file}: truncated at tensor ${t.name}`);
    const copy = bytes.slice(off, off + size);
    off += size;
    return t.dtype === 'f64' ? new Float64Array(copy.buffer) : new Float32Array(copy.buffer);
  };
  const c: Checkpoint = { phase: h.phase, step: h.step, steps: h.steps, adamT: h.adamT, losses: h.losses ?? [], params: [], m: [], v: [] };
  for (const t of h.tensors) {
    const a = take(t);
    if (t.name.startsWith('param.')) c.params.push(a as Float32Array);
    else if (t.name.startsWith('m.')) c.m.push(a as Float64Array);
    else c.v.push(a as Float64Array);
  }
  return c;
}

/** Copies checkpointed parameters into `params` (same model). */
export function restoreParams(params: TrainParams, c: Checkpoint, file: string): void {
  const entries = paramEntries(params);
  if (entries.length !== c.params.length) throw new DsteerError(`${file}: ${c.params.length} tensors, the model has ${entries.length}`);
  entries.forEach(([name, t], i) => {
    if (t.length !== c.params[i]!.length) throw new DsteerError(`${file}: tensor ${name} has ${c.params[i]!.length} values, the model ${t.length}`);
    t.set(c.params[i]!);
  });
}
