/**
 * Lines of TypeScript and WGSL per top folder (STYLE.md 12, "watch the size": growth is fine,
 * unseen growth is not). `npm run build && npm run lines` (= `node dist/bench/lines.js`);
 * `--format json` prints the same numbers as JSON.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const FOLDERS = ['engine', 'kernels', 'models', 'data', 'steering', 'eval', 'train', 'server', 'web', 'cli', 'bench', 'tests'];
const SKIP_DIRS = new Set(['node_modules', 'dist', '.git']);

/** Line counts of one folder: all lines, and those that are neither blank nor only a comment. */
export interface FolderLines {
  folder: string;
  files: number;
  ts: number;
  wgsl: number;
  code: number;
}

/** Counts lines under each top folder of the repository at `root`. */
export function countLines(root: string): FolderLines[] {
  return FOLDERS.map((folder) => {
    const row: FolderLines = { folder, files: 0, ts: 0, wgsl: 0, code: 0 };
    for (const path of walk(join(root, folder))) {
      const lines = readFileSync(path, 'utf8').split('\n');
      if (lines.at(-1) === '') lines.pop();
      row.files++;
      if (path.endsWith('.wgsl')) row.wgsl += lines.length;
      else row.ts += lines.length;
      row.code += lines.filter((l) => !/^\s*($|\/\/|\/\*|\*)/.test(l)).length;
    }
    return row;
  });
}

function walk(dir: string): string[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.isDirectory()) return SKIP_DIRS.has(e.name) ? [] : walk(join(dir, e.name));
    return /\.(ts|wgsl)$/.test(e.name) ? [join(dir, e.name)] : [];
  });
}

/** The repository root: the nearest folder above this file with a package.json (works from dist/ too). */
function findRoot(): string {
  let dir = dirname(fileURLToPath(import.meta.url));
  while (!existsSync(join(dir, 'package.json'))) {
    const up = dirname(dir);
    if (up === dir) throw new Error('lines: no package.json above ' + fileURLToPath(import.meta.url));
    dir = up;
  }
  return dir;
}

function main(argv: string[]): void {
  const rows = countLines(findRoot());
  const total: FolderLines = { folder: 'total', files: 0, ts: 0, wgsl: 0, code: 0 };
  for (const r of rows) for (const k of ['files', 'ts', 'wgsl', 'code'] as const) total[k] += r[k];
  if (argv.includes('--format') && argv[argv.indexOf('--format') + 1] === 'json') {
    console.log(JSON.stringify({ folders: rows, total }, null, 2));
    return;
  }
  const header = ['folder', 'files', '.ts', '.wgsl', 'code'];
  const table = [...rows, total].map((r) => [r.folder, r.files, r.ts, r.wgsl, r.code].map(String));
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => row[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  console.log(line(header));
  for (const row of table) console.log(line(row));
  console.log('(.ts and .wgsl: all lines; code: lines neither blank nor only a comment)');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) main(process.argv.slice(2));
