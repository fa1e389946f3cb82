// The one direction of imports (docs/ARCHITECTURE.md, "Layout"): every static, re-export, dynamic
// and type import in the source folders is checked against the table below. Specifiers come from
// TypeScript's own pre-processor, so imports inside comments and strings do not count.
import { readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join, posix, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import { describe, expect, it } from 'vitest';

const FOLDERS = ['engine', 'kernels', 'models', 'data', 'steering', 'eval', 'train', 'server', 'web', 'cli', 'bench'] as const;
type Folder = (typeof FOLDERS)[number];

const LIBRARY: Folder[] = ['eval', 'steering', 'models', 'kernels', 'engine', 'data'];

/** Folders each folder may import from (besides itself). */
const ALLOWED: Record<Folder, readonly Folder[]> = {
  cli: FOLDERS,
  web: LIBRARY,
  server: LIBRARY,
  bench: LIBRARY,
  eval: ['steering', 'models', 'kernels', 'engine', 'data'],
  steering: ['models', 'kernels', 'engine', 'data'],
  models: ['kernels', 'engine'],
  kernels: ['engine'],
  engine: [],
  data: ['engine'],
  train: ['data', 'models', 'kernels', 'engine'],
};

/** Where Node-only modules may be imported: these folders, and these single files. */
const NODE_FOLDERS: readonly Folder[] = ['cli', 'server', 'bench'];
const NODE_FILES = ['engine/byte-source-node.ts'];
/** The only file that may import Dawn's bindings. */
const WEBGPU_FILE = 'engine/device.ts';

const NODE_BUILTINS = new Set(builtinModules);

function isNodeModule(spec: string): boolean {
  return spec.startsWith('node:') || NODE_BUILTINS.has(spec) || NODE_BUILTINS.has(spec.split('/')[0]!);
}

/**
 * The import rules broken by one source file. `file` is its path from the repository root with
 * forward slashes ("models/llama.ts"); returns one message per offending specifier.
 */
function importViolations(file: string, source: string): string[] {
  const from = file.split('/')[0] as Folder;
  const out: string[] = [];
  for (const { fileName: spec } of ts.preProcessFile(source, true, true).importedFiles) {
    if (spec.startsWith('.')) {
      const target = posix.normalize(posix.join(posix.dirname(file), spec)).split('/')[0]!;
      if (target === from) continue;
      if (!(FOLDERS as readonly string[]).includes(target)) {
        out.push(`${file}: '${spec}' reaches outside the source folders (${target})`);
      } else if (!ALLOWED[from].includes(target as Folder)) {
        out.push(`${file}: '${spec}' imports ${target}/, but ${from}/ may import only ${ALLOWED[from].join(', ') || 'itself'}`);
      }
    } else if (spec === 'webgpu' || spec.startsWith('webgpu/')) {
      if (file !== WEBGPU_FILE) out.push(`${file}: '${spec}' is imported only by ${WEBGPU_FILE}`);
    } else if (isNodeModule(spec)) {
      if (!NODE_FOLDERS.includes(from) && !NODE_FILES.includes(file)) {
        out.push(`${file}: Node-only module '${spec}' is allowed only in ${NODE_FOLDERS.join('/, ')}/ and ${NODE_FILES.join(', ')}`);
      }
    }
  }
  return out;
}

const ROOT = fileURLToPath(new URL('../..', import.meta.url));

function sourceFiles(dir: string): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return []; // a folder not written yet
  }
  return entries.flatMap((e) => {
    const path = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'node_modules' ? [] : sourceFiles(path);
    return /\.(ts|mts|tsx)$/.test(e.name) ? [path] : [];
  });
}

describe('importViolations (the checker itself)', () => {
  it('flags an upward import, a re-export and a dynamic import', () => {
    const src = [
      "import { forward } from '../models/llama.js';",
      "export * from '../steering/plan.js';",
      "const m = await import('../eval/aqi.js');",
      "import { bf16 } from '../engine/dtype.js';",
      "import { ok } from './sibling.js';",
    ].join('\n');
    const v = importViolations('kernels/matmul.ts', src);
    expect(v).toHaveLength(3);
    expect(v[0]).toMatch(/kernels\/matmul.ts: '..\/models\/llama.js' imports models\//);
  });

  it('applies the Node-only and webgpu rules, file by file', () => {
    expect(importViolations('engine/buffers.ts', "import { readFile } from 'node:fs/promises';")).toHaveLength(1);
    expect(importViolations('models/weights.ts', "import * as path from 'path';")).toHaveLength(1);
    expect(importViolations('engine/byte-source-node.ts', "import { open } from 'node:fs/promises';")).toEqual([]);
    expect(importViolations('cli/main.ts', "import { spawn } from 'child_process';")).toEqual([]);
    expect(importViolations('engine/buffers.ts', "type D = typeof import('webgpu');")).toHaveLength(1);
    expect(importViolations('engine/device.ts', "const d = await import('webgpu');")).toEqual([]);
  });

  it('ignores comments and strings, and flags imports outside the source folders', () => {
    expect(importViolations('engine/a.ts', "// import x from '../cli/main.js'\nconst s = \"import('../eval/x.js')\";")).toEqual([]);
    expect(importViolations('data/a.ts', "import { h } from '../tests/helpers.js';")).toHaveLength(1);
    expect(importViolations('cli/a.ts', "import { serve } from '../server/index.js';")).toEqual([]);
  });
});

describe('the repository follows the import direction', () => {
  const files = FOLDERS.flatMap((f) => sourceFiles(join(ROOT, f)));

  it('scans some source files', () => {
    expect(files.length).toBeGreaterThan(0);
  });

  it('has no import against the direction', () => {
    const violations = files.flatMap((path) =>
      importViolations(relative(ROOT, path).split(sep).join('/'), readFileSync(path, 'utf8')),
    );
    expect(violations).toEqual([]);
  });
});
