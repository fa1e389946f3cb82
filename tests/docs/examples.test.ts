/**
 * Doctest: every `@example` in the TSDoc of engine/, kernels/, models/, steering/ and cli/args.ts
 * runs as its own test, named `<file>: <declaration>` (`models/tokenizer.ts: ModelTokenizer.decode`).
 *
 * Finding. Each file is parsed with the TypeScript compiler; every JSDoc block attached to a
 * declaration is read from the raw source. An example is the text after `@example` (the rest of
 * that line, then the following lines) up to the next line that starts with an `@tag` or the end of
 * the comment, with the leading ` * ` stripped. One-line comments work too:
 * `/** Doc. @example assert(f(1) === 2) *\/`. A test fails when an `@example` in a file is not in
 * any block found this way, so no example is skipped unseen.
 *
 * Running. The example is wrapped in `async function example() { ... }` (so `await` and
 * redeclaring a scope name such as `model` both work), transpiled with `ts.transpileModule`
 * (ES2022, ESNext; type annotations and `!` disappear; the example is not type-checked) and called
 * through an AsyncFunction whose parameters are the scope: the context below, then every export of
 * the module the example is written in. On a clash the module's export wins (inside
 * models/generate.ts, `generate` is that file's own). Each example must call `assert` at least once:
 * claims such as "r.ids has 8 ids" are written as `assert(r.ids.length === 8)`, not as comments.
 *
 * Context (the names an example may use without importing):
 *   assert(cond, msg?)  throws when cond is falsy
 *   promptIds           [1, 5, 9]
 *   modelDir            absolute path of ../shared/fixtures/tiny-llama3-bf16-sharded (a tiny random
 *                       Llama: dim 64, 3 layers, GQA 4/2, vocab 384, BOS <1>, EOS <2>; id-level
 *                       tokenizer, token i is "<i>", no post-processor, no chat template)
 *   dir                 NodeDir of modelDir
 *   model, tokenizer    loadModel(dir, cpuBackend())
 *   chatTokenizer       the same tokenizer.json with the chat template CHAT_TEMPLATE below
 *   sv                  readVectorFile of modelDir/steer.safetensors (dim 64, blocks 0, 1 and 2 at
 *                       hook_resid_post, no provenance)
 *   functions/classes   NodeDir, FileSource, MemoryDir, MemorySource, DsteerError, cpuBackend,
 *                       loadModel, generate, score, feed, parseConfig, parseConfigText,
 *                       readModelConfig, loadWeights, loadTokenizer, readSafetensorsHeader,
 *                       openModelTensors, readTensorF32, encodeSafetensors, elementCount,
 *                       readVectorFile, encodeVectorFile, validateVectors, selectLayers,
 *                       planSteering, Rng, parseGrid
 * `g` is a Gpu (engine/gpu.ts) on the test adapter; examples using it skip without an adapter (and
 * the file fails under DSTEER_REQUIRE_WEBGPU=1).
 * Without ../shared, the examples that use a fixture name (modelDir, dir, model, tokenizer,
 * chatTokenizer, sv) as a free identifier are skipped with a warning; the others still run.
 *
 * A second test checks that the public functions listed in REQUIRED carry an example.
 */
import { cloneParams, initParams } from '../../train/model-train.js';
import { packedLayout } from '../../models/weights.js';
import { describeAdapter, lastGpuError, openGpu } from '../../engine/device.js';
import { Gpu } from '../../engine/gpu.js';
import { gpuBackend } from '../../kernels/gpu-backend.js';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MemoryDir, MemorySource } from '../../engine/byte-source.js';
import { FileSource, NodeDir } from '../../engine/byte-source-node.js';
import { DsteerError } from '../../engine/errors.js';
import { Rng } from '../../engine/rng.js';
import { cpuBackend } from '../../kernels/backend.js';
import { parseGrid } from '../../cli/args.js';
import { parseConfig, parseConfigText } from '../../models/config.js';
import { generate } from '../../models/generate.js';
import { loadModel } from '../../models/load.js';
import { feed } from '../../models/run.js';
import { elementCount, encodeSafetensors, openModelTensors, readSafetensorsHeader, readTensorF32 } from '../../models/safetensors.js';
import { score } from '../../models/score.js';
import { loadTokenizer } from '../../models/tokenizer.js';
import { loadWeights, readModelConfig } from '../../models/weights.js';
import { planSteering } from '../../steering/plan.js';
import { encodeVectorFile, readVectorFile, selectLayers, validateVectors } from '../../steering/vector.js';
import { repoPath, sharedPath } from '../helpers.js';

const ROOT = repoPath('');
const SOURCE_DIRS = ['engine', 'kernels', 'models', 'steering', 'data', 'train', 'eval'];
const SOURCE_FILES = ['cli/args.ts'];
const FIXTURE = 'fixtures/tiny-llama3-bf16-sharded';
/** chatTokenizer's template: BOS, each turn as `<3> content `, then `<4>` as the generation prompt. */
const CHAT_TEMPLATE = '{{ bos_token }}{% for m in messages %}<3> {{ m.content }} {% endfor %}{% if add_generation_prompt %}<4>{% endif %}';

/** Public functions that must carry an example: '*' = every exported function and class of the file. */
const REQUIRED: Record<string, '*' | string[]> = {
  'models/generate.ts': '*',
  'models/score.ts': '*',
  'models/run.ts': '*',
  'models/load.ts': '*',
  'models/weights.ts': ['loadWeights'],
  'models/config.ts': ['parseConfig'],
  'models/tokenizer.ts': ['loadTokenizer'],
  'models/safetensors.ts': ['readSafetensorsHeader', 'openModelTensors', 'readTensorF32', 'encodeSafetensors'],
  'steering/vector.ts': ['readVectorFile', 'encodeVectorFile', 'validateVectors', 'selectLayers'],
  'steering/plan.ts': ['planSteering'],
  'engine/rng.ts': ['Rng'],
  'cli/args.ts': ['parseGrid'],
};

// ---- finding examples ----

interface Example {
  file: string; // repo-relative, forward slashes
  name: string; // declaration the comment belongs to
  code: string;
}

function sourceFiles(): string[] {
  const out: string[] = [...SOURCE_FILES];
  const walk = (rel: string): void => {
    for (const e of readdirSync(join(ROOT, rel), { withFileTypes: true })) {
      const r = `${rel}/${e.name}`;
      if (e.isDirectory()) walk(r);
      else if (e.name.endsWith('.ts') && !e.name.endsWith('.d.ts')) out.push(r);
    }
  };
  for (const d of SOURCE_DIRS) if (existsSync(join(ROOT, d))) walk(d);
  return out.sort();
}

/** The examples of one raw `/** ... *\/` block. */
function examplesInBlock(block: string): string[] {
  const lines = block
    .replace(/^\/\*\*/, '')
    .replace(/\*\/$/, '')
    .split('\n')
    .map((l) => l.replace(/^\s*\* ?/, ''));
  const out: string[][] = [];
  let cur: string[] | null = null;
  for (const line of lines) {
    const tag = /^\s*@(\w+)/.exec(line);
    const inline = tag ? null : /(?:^|\s)@example\b/.exec(line);
    if (tag) {
      cur = null;
      if (tag[1] === 'example') out.push((cur = [line.slice(tag[0].length)]));
    } else if (inline && cur === null) {
      out.push((cur = [line.slice(inline.index + inline[0].length)]));
    } else if (cur) cur.push(line);
  }
  return out.map((ls) => dedent(ls).trim()).filter((s) => s.length > 0);
}

function dedent(lines: string[]): string {
  const first = lines[0]!.trim() === '' ? lines.slice(1) : lines;
  const indents = first.filter((l) => l.trim() !== '').map((l) => /^ */.exec(l)![0].length);
  const cut = Math.min(...indents, Infinity);
  return first.map((l) => l.slice(Number.isFinite(cut) ? cut : 0).trimEnd()).join('\n');
}

function declName(node: ts.Node): string {
  const own = (n: ts.Node): string | null => {
    if (ts.isConstructorDeclaration(n)) return 'constructor';
    if (ts.isVariableStatement(n)) return own(n.declarationList.declarations[0]!);
    const name = (n as { name?: ts.Node }).name;
    return name && (ts.isIdentifier(name) || ts.isPrivateIdentifier(name) || ts.isStringLiteral(name)) ? name.text : null;
  };
  const mine = own(node) ?? (ts.isSourceFile(node.parent) && ts.isImportDeclaration(node) ? '(file header)' : ts.SyntaxKind[node.kind]);
  const cls = node.parent && (ts.isClassLike(node.parent) || ts.isInterfaceDeclaration(node.parent)) ? own(node.parent) : null;
  return cls ? `${cls}.${mine}` : mine;
}

interface ParsedFile {
  examples: Example[];
  /** `@example` occurrences in the file text that no attached JSDoc block accounts for. */
  unattached: number;
  /** Exported functions and classes, with whether they carry an example. */
  exported: Map<string, boolean>;
}

function parseFile(file: string): ParsedFile {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const sf = ts.createSourceFile(file, text, ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const seen = new Set<number>();
  const examples: Example[] = [];
  let inBlocks = 0;
  const visit = (node: ts.Node): void => {
    for (const doc of ts.getJSDocCommentsAndTags(node)) {
      if (!ts.isJSDoc(doc) || seen.has(doc.pos)) continue;
      seen.add(doc.pos);
      const raw = text.slice(doc.pos, doc.end);
      inBlocks += (raw.match(/@example\b/g) ?? []).length;
      const name = declName(node);
      for (const code of examplesInBlock(raw)) examples.push({ file, name, code });
    }
    ts.forEachChild(node, visit);
  };
  ts.forEachChild(sf, visit);

  const exported = new Map<string, boolean>();
  const isExported = (n: ts.Node): boolean => ts.canHaveModifiers(n) && (ts.getModifiers(n) ?? []).some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
  const hasExample = (name: string): boolean => examples.some((e) => e.name === name);
  for (const st of sf.statements) {
    if (!isExported(st)) continue;
    if ((ts.isFunctionDeclaration(st) || ts.isClassDeclaration(st)) && st.name) exported.set(st.name.text, hasExample(st.name.text));
    if (ts.isVariableStatement(st)) {
      for (const d of st.declarationList.declarations) {
        const init = d.initializer;
        if (ts.isIdentifier(d.name) && init && (ts.isArrowFunction(init) || ts.isFunctionExpression(init))) {
          exported.set(d.name.text, examples.some((e) => e.name === (d.name as ts.Identifier).text));
        }
      }
    }
  }
  return { examples, unattached: (text.match(/@example\b/g) ?? []).length - inBlocks, exported };
}

// ---- running examples ----

const FIXTURE_NAMES = ['modelDir', 'dir', 'model', 'tokenizer', 'chatTokenizer', 'sv'] as const;
/** `g`: a Gpu (engine/gpu.ts) on the test adapter (lavapipe in CI); examples that use it skip without one. */
const GPU_NAMES = ['g'] as const;
const gpuHandle = await openGpu({ allowSoftware: true });
const gpu = gpuHandle ? new Gpu(gpuHandle) : null;
if (!gpu) {
  if (process.env['DSTEER_REQUIRE_WEBGPU'] === '1') throw new Error(`doc examples: DSTEER_REQUIRE_WEBGPU=1 but no WebGPU adapter: ${lastGpuError()}`);
  console.warn(`SKIPPED: doc examples that use a GPU (g): no WebGPU adapter: ${lastGpuError()}`);
}

const PURE_SCOPE: Record<string, unknown> = {
  promptIds: [1, 5, 9],
  NodeDir, FileSource, MemoryDir, MemorySource, DsteerError, cpuBackend,
  loadModel, generate, score, feed, parseConfig, parseConfigText, readModelConfig, loadWeights, loadTokenizer,
  readSafetensorsHeader, openModelTensors, readTensorF32, encodeSafetensors, elementCount,
  readVectorFile, encodeVectorFile, validateVectors, selectLayers, planSteering, Rng, parseGrid,
  openGpu, lastGpuError, describeAdapter, Gpu, gpuBackend,
  initParams, cloneParams, packedLayout,
};

function wrap(code: string): string {
  return `async function example() {\n${code}\n}\n`;
}

/** Identifiers the example reads but does not declare itself (approximate, enough to spot fixture names). */
function freeNames(code: string): Set<string> {
  const sf = ts.createSourceFile('example.ts', wrap(code), ts.ScriptTarget.ES2022, true, ts.ScriptKind.TS);
  const used = new Set<string>();
  const declared = new Set<string>();
  const visit = (n: ts.Node): void => {
    if (ts.isIdentifier(n)) {
      const p = n.parent;
      const isDecl =
        ((ts.isVariableDeclaration(p) || ts.isParameter(p) || ts.isFunctionDeclaration(p) || ts.isClassDeclaration(p)) && p.name === n) ||
        (ts.isBindingElement(p) && p.name === n);
      const isKey =
        (ts.isPropertyAccessExpression(p) && p.name === n) ||
        (ts.isPropertyAssignment(p) && p.name === n) ||
        (ts.isBindingElement(p) && p.propertyName === n) ||
        ts.isQualifiedName(p) ||
        ts.isTypeReferenceNode(p);
      if (isDecl) declared.add(n.text);
      else if (!isKey) used.add(n.text);
    }
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return new Set([...used].filter((u) => !declared.has(u)));
}

type AnyAsync = (...args: unknown[]) => Promise<unknown>;
const AsyncFunction = Object.getPrototypeOf(async () => {}).constructor as new (...args: string[]) => AnyAsync;

async function runExample(ex: Example, context: Record<string, unknown>): Promise<number> {
  const out = ts.transpileModule(wrap(ex.code), {
    compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext },
    reportDiagnostics: true,
    fileName: `${ex.file}.example.ts`,
  });
  const diags = (out.diagnostics ?? []).map((d) => ts.flattenDiagnosticMessageText(d.messageText, '\n'));
  if (diags.length > 0) throw new Error(`the example does not parse: ${diags.join('; ')}\n${ex.code}`);
  let asserts = 0;
  const assert = (cond: unknown, msg?: string): void => {
    asserts++;
    if (!cond) throw new Error(`assertion ${asserts} failed${msg ? `: ${msg}` : ''}`);
  };
  const mod = (await import(join(ROOT, ex.file))) as Record<string, unknown>;
  // context first, then the module's own exports (they win on a clash)
  const scope: Record<string, unknown> = { ...context, assert };
  for (const [k, v] of Object.entries(mod)) if (/^[A-Za-z_$][\w$]*$/.test(k) && k !== 'default') scope[k] = v;
  const fn = new AsyncFunction(...Object.keys(scope), `${out.outputText}\nreturn example();`);
  try {
    await fn(...Object.values(scope));
  } catch (e) {
    const err = e as Error;
    throw new Error(`${ex.file}: ${ex.name}: the example threw ${err.name}: ${err.message}\n--- example ---\n${ex.code}`, { cause: e });
  }
  return asserts;
}

// ---- the tests ----

const files = sourceFiles();
const parsed = new Map(files.map((f) => [f, parseFile(f)]));
const examples = [...parsed.values()].flatMap((p) => p.examples);
const haveFixture = existsSync(sharedPath(FIXTURE));
const needsFixture = (ex: Example): boolean => {
  const free = freeNames(ex.code);
  return FIXTURE_NAMES.some((n) => free.has(n));
};
const needsGpu = (ex: Example): boolean => {
  const free = freeNames(ex.code);
  return GPU_NAMES.some((n) => free.has(n));
};
const skipped = examples.filter((ex) => (!haveFixture && needsFixture(ex)) || (!gpu && needsGpu(ex)));
if (!haveFixture) {
  console.warn(`SKIPPED: ${skipped.length} of ${examples.length} doc examples need ${sharedPath(FIXTURE)}, which is absent; the other ${examples.length - skipped.length} run`);
}

const context: Record<string, unknown> = { ...PURE_SCOPE, g: gpu };
const toClose: { close(): Promise<void> }[] = [];

beforeAll(async () => {
  if (!haveFixture) return;
  const modelDir = sharedPath(FIXTURE);
  const dir = await NodeDir.open(modelDir);
  const { model, tokenizer } = await loadModel(dir, cpuBackend());
  const chatTokenizer = await loadTokenizer(
    new MemoryDir(`${modelDir} (with a chat template)`, {
      'tokenizer.json': (await dir.readText('tokenizer.json'))!,
      'tokenizer_config.json': (await dir.readText('tokenizer_config.json'))!,
      'chat_template.jinja': CHAT_TEMPLATE,
    }),
  );
  const steerFile = await FileSource.open(join(modelDir, 'steer.safetensors'));
  toClose.push(steerFile);
  const sv = await readVectorFile(steerFile);
  Object.assign(context, { modelDir, dir, model, tokenizer, chatTokenizer, sv });
});

afterAll(async () => {
  for (const c of toClose) await c.close();
  gpu?.destroy();
});

describe('doc examples', () => {
  it('finds the examples', () => {
    expect(examples.length).toBeGreaterThan(0);
    const lost = [...parsed].filter(([, p]) => p.unattached !== 0).map(([f, p]) => `${f}: ${p.unattached}`);
    expect(lost, '@example written outside a JSDoc block attached to a declaration').toEqual([]);
  });

  const counts = new Map<string, number>();
  for (const ex of examples) {
    const base = `${ex.file}: ${ex.name}`;
    const n = (counts.get(base) ?? 0) + 1;
    counts.set(base, n);
    const title = n === 1 ? base : `${base} (${n})`;
    it.skipIf(skipped.includes(ex))(title, async () => {
      const asserts = await runExample(ex, context);
      expect(asserts, `${title}: the example makes no checkable claim; end it with assert(...)`).toBeGreaterThan(0);
    });
  }
});

describe('public functions carry an example', () => {
  for (const [file, want] of Object.entries(REQUIRED)) {
    it(file, () => {
      const p = parsed.get(file) ?? parseFile(file);
      const names = want === '*' ? [...p.exported.keys()] : want;
      const missing = names.filter((n) => !p.exported.has(n));
      expect(missing, `${file}: not exported functions or classes (renamed? update REQUIRED)`).toEqual([]);
      const without = names.filter((n) => p.exported.get(n) === false);
      expect(without, `${file}: public functions without an @example`).toEqual([]);
    });
  }
});
