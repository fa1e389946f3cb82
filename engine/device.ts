/**
 * The WebGPU device: the ONLY module that knows where WebGPU comes from. In a browser that is
 * `navigator.gpu`; in Node it is Dawn's bindings (the `webgpu` npm package), loaded with a dynamic
 * import so the CPU path never loads the native addon and a page bundle never sees it. Everything
 * else (buffers, pipelines, kernels, models) takes a `GPUDevice` from here and uses only the
 * standard WebGPU API, which is why the same engine code runs in both places (STYLE.md 10).
 *
 * In Node, opening also installs the WebGPU constants (`GPUBufferUsage`, `GPUMapMode`,
 * `GPUShaderStage`, ...) on `globalThis` where they are missing, as a browser has them.
 * Without a GPU, Mesa's lavapipe (CPU Vulkan) gives Dawn an adapter; such software adapters are
 * reported as `isSoftware` and used only when the caller allows them (`--device webgpu`).
 */
/// <reference types="@webgpu/types" />

/** What the adapter says about itself, plus whether it is a CPU emulation. */
export interface GpuAdapterInfo {
  vendor: string;
  architecture: string;
  device: string;
  description: string;
  /** lavapipe/llvmpipe, SwiftShader, WARP or any adapter flagged as a fallback adapter. */
  isSoftware: boolean;
}

/** The device's limits (the adapter's real ones, requested at open), every numeric limit by name. */
export interface GpuLimits {
  maxStorageBufferBindingSize: number;
  maxBufferSize: number;
  maxComputeWorkgroupStorageSize: number;
  maxComputeInvocationsPerWorkgroup: number;
  maxComputeWorkgroupSizeX: number;
  maxComputeWorkgroupsPerDimension: number;
  maxStorageBuffersPerShaderStage: number;
  minStorageBufferOffsetAlignment: number;
  [name: string]: number;
}

/** An open device and what it can do. Call `destroy()` when done. */
export interface GpuHandle {
  device: GPUDevice;
  adapterInfo: GpuAdapterInfo;
  /** The device's features, sorted (includes shader-f16, subgroups, timestamp-query when the adapter has them). */
  features: string[];
  limits: GpuLimits;
  /** Destroys the device and drops the reference to Dawn so that Node can exit. */
  destroy(): void;
}

/** Optional features requested whenever the adapter offers them. */
const WANTED_FEATURES = ['shader-f16', 'subgroups', 'timestamp-query'];

/** Limits requested at the adapter's maximum (defaults are far lower, e.g. 128 MiB bindings). */
const WANTED_LIMITS = [
  'maxStorageBufferBindingSize',
  'maxBufferSize',
  'maxComputeWorkgroupStorageSize',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupsPerDimension',
  'maxStorageBuffersPerShaderStage',
  'maxUniformBufferBindingSize',
  'maxBindGroups',
  'maxBindingsPerBindGroup',
];

const SOFTWARE_NAMES = /llvmpipe|lavapipe|swiftshader|software|microsoft basic render/i;

let lastError = '';

/**
 * Why the last `openGpu` returned null (no adapter, only a software one when not allowed, the
 * `webgpu` package failing to load, requestDevice failing); '' after a successful open.
 */
export function lastGpuError(): string {
  return lastError;
}

/**
 * Opens the best WebGPU adapter with its real limits and the optional features it has, or returns
 * null (see `lastGpuError()` for why). Never throws for a missing GPU.
 *
 * @example
 * const gpu = await openGpu({ allowSoftware: true });
 * // describeAdapter(gpu): "llvmpipe: Mesa 25.0.7 ... (software); shader-f16 subgroups ...; max binding 128 MiB"
 * if (gpu) assert(describeAdapter(gpu).includes('max binding'));
 * else assert(lastGpuError() !== ''); // null always comes with a reason
 * gpu?.destroy();
 */
export async function openGpu(opts: { allowSoftware: boolean }): Promise<GpuHandle | null> {
  lastError = '';
  // One device per process, shared by reference count: creating and destroying devices back to
  // back while another is alive crashed lavapipe (a mutex assertion in a driver thread), and a
  // second device buys nothing. The device is destroyed when the last handle is.
  if (shared !== null && (opts.allowSoftware || !shared.handle.adapterInfo.isSoftware)) return share(shared);
  const h = await openNew(opts);
  if (h === null) return null;
  if (shared !== null) return h; // a software device is shared but a hardware one was asked for
  shared = { handle: h, refs: 0 };
  return share(shared);
}

let shared: { handle: GpuHandle; refs: number } | null = null;

function share(s: { handle: GpuHandle; refs: number }): GpuHandle {
  s.refs++;
  let open = true;
  return {
    ...s.handle,
    destroy() {
      if (!open) return;
      open = false;
      if (--s.refs === 0) {
        if (shared === s) shared = null;
        s.handle.destroy();
      }
    },
  };
}

async function openNew(opts: { allowSoftware: boolean }): Promise<GpuHandle | null> {
  let gpu: GPU | null = await findGpu();
  if (!gpu) return null;
  let adapter: GPUAdapter | null;
  try {
    adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
  } catch (e) {
    return fail(`requestAdapter failed: ${messageOf(e)}`);
  }
  if (!adapter) return fail('no WebGPU adapter (no GPU driver; in Node without a GPU install Mesa lavapipe, see docs/ARCHITECTURE.md)');
  const adapterInfo = readInfo(adapter);
  if (adapterInfo.isSoftware && !opts.allowSoftware) {
    return fail(`only a software adapter is available (${adapterInfo.description || adapterInfo.device}); use --device webgpu to run on it`);
  }
  const requiredFeatures = WANTED_FEATURES.filter((f) => adapter.features.has(f)) as GPUFeatureName[];
  const requiredLimits: Record<string, number> = {};
  for (const name of WANTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, unknown>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredFeatures, requiredLimits });
  } catch (e) {
    return fail(`requestDevice failed on ${adapterInfo.description || adapterInfo.device}: ${messageOf(e)}`);
  }
  return {
    device,
    adapterInfo,
    features: [...device.features].map(String).sort(),
    limits: readLimits(device.limits),
    destroy() {
      device.destroy();
      gpu = null;
    },
  };
}

/** One line for logs and benchmark reports: description, vendor/architecture, software, features, binding size. */
export function describeAdapter(gpu: GpuHandle): string {
  const i = gpu.adapterInfo;
  const name = i.description || i.device || 'unknown adapter';
  const kind = [i.vendor, i.architecture].filter(Boolean).join('/');
  const mib = Math.floor(gpu.limits.maxStorageBufferBindingSize / 2 ** 20);
  const feats = WANTED_FEATURES.filter((f) => gpu.features.includes(f)).join(' ') || 'no optional features';
  return `${name}${kind ? ` [${kind}]` : ''}${i.isSoftware ? ' (software)' : ''}; ${feats}; max binding ${mib} MiB`;
}

/** navigator.gpu where it exists (browsers), else Dawn from the `webgpu` package (Node). */
async function findGpu(): Promise<GPU | null> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return nav.gpu;
  const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
  if (!node) return fail('this browser has no WebGPU (navigator.gpu is missing)');
  // A variable specifier keeps page bundlers from trying to bundle the native addon.
  const specifier = 'webgpu';
  try {
    const dawn = (await import(/* @vite-ignore */ specifier)) as typeof import('webgpu');
    for (const [k, v] of Object.entries(dawn.globals)) {
      if (!(k in globalThis)) (globalThis as Record<string, unknown>)[k] = v;
    }
    return dawn.create([]);
  } catch (e) {
    return fail(`the webgpu package (Dawn) failed to load: ${messageOf(e)}`);
  }
}

function readInfo(adapter: GPUAdapter): GpuAdapterInfo {
  const info = adapter.info as GPUAdapterInfo & { isFallbackAdapter?: boolean };
  const vendor = info?.vendor ?? '';
  const architecture = info?.architecture ?? '';
  const device = info?.device ?? '';
  const description = info?.description ?? '';
  const fallback = info?.isFallbackAdapter === true || (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter === true;
  const isSoftware = fallback || SOFTWARE_NAMES.test([vendor, architecture, device, description].join(' '));
  return { vendor, architecture, device, description, isSoftware };
}

function readLimits(limits: GPUSupportedLimits): GpuLimits {
  const out: Record<string, number> = {};
  // WebIDL attributes live on the prototype; for...in walks them in Dawn and in browsers.
  for (const k in limits) {
    const v = (limits as unknown as Record<string, unknown>)[k];
    if (typeof v === 'number') out[k] = v;
  }
  return out as GpuLimits;
}

function fail(reason: string): null {
  lastError = reason;
  return null;
}

function messageOf(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}
