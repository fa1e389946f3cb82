/**
 * `dsteer ui`: a small static server (node:http) for the interactive page built by
 * `npm run build:web` (dist/web), the shipped assets the page loads (assets/micro/{sft,dpo}/*,
 * assets/micro/vector.safetensors, assets/data/*) and the run directories under `--runs DIR`, all
 * read-only (GET and HEAD only). Paths are decoded, must be relative and may not contain `..`,
 * `.` or empty segments or a NUL byte (403); a resolved path must stay inside its root after
 * symbolic links are followed. `GET /api/runs` lists the runs that have a report.json. No computation
 * happens here: the models run in the browser (web/src/worker.ts).
 */
import { createReadStream, existsSync, readdirSync, realpathSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { extname, join, resolve, sep } from 'node:path';
import type { Command } from 'commander';
import { DsteerError } from '../engine/errors.js';
import { parseIntIn } from './args.js';
import { note } from './common.js';
import { packageRoot } from './run-dir.js';

export interface UiOptions {
  /** Port to listen on; 0 picks a free one. */
  port: number;
  host: string;
  /** The folder of run directories served under /runs/. */
  runs: string;
  /** The built page (default: the package's dist/web). */
  web?: string;
  /** The shipped assets (default: the package's assets/). */
  assets?: string;
}

export interface UiServer {
  /** The page's address, e.g. http://127.0.0.1:5173/ */
  url: string;
  server: Server;
  close(): Promise<void>;
}

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8', '.map': 'application/json; charset=utf-8', '.txt': 'text/plain; charset=utf-8',
  '.csv': 'text/csv; charset=utf-8', '.jsonl': 'text/plain; charset=utf-8', '.svg': 'image/svg+xml', '.png': 'image/png',
  '.safetensors': 'application/octet-stream', '.gz': 'application/gzip',
};

/** Asset paths the page may load (relative to assets/). */
const ASSET_ALLOWED = [/^micro\/(sft|dpo)\/[^/]+$/, /^micro\/vector\.safetensors$/, /^data\/[^/]+$/];

/** Splits a URL path into safe segments, or null when any segment is unsafe. */
function safeSegments(rel: string): string[] | null {
  if (rel === '') return [];
  const segs = rel.split('/');
  for (const s of segs) if (s === '' || s === '.' || s === '..' || s.includes('\\') || s.includes('\0')) return null;
  return segs;
}

/** The real path of `root/segs`, or null when it leaves root (through a link) or is not a file. */
function fileInside(root: string, segs: string[]): string | null {
  const p = join(root, ...segs);
  if (!existsSync(p)) return null;
  const realRoot = realpathSync(root);
  const real = realpathSync(p);
  if (real !== realRoot && !real.startsWith(realRoot + sep)) return null;
  return statSync(real).isFile() ? real : null;
}

function send(res: ServerResponse, status: number, body: string, type = 'text/plain; charset=utf-8'): void {
  res.writeHead(status, { 'content-type': type, 'cache-control': 'no-store', 'x-content-type-options': 'nosniff' });
  res.end(body);
}

function sendFile(req: IncomingMessage, res: ServerResponse, file: string): void {
  const size = statSync(file).size;
  res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': size, 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
  if (req.method === 'HEAD') res.end();
  else createReadStream(file).pipe(res);
}

/** The runs under `dir` that hold a report.json, sorted by name. */
function listRuns(dir: string): { name: string; html: boolean }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir, { withFileTypes: true })
    .filter((d) => d.isDirectory() && existsSync(join(dir, d.name, 'report.json')))
    .map((d) => ({ name: d.name, html: existsSync(join(dir, d.name, 'report.html')) }))
    .sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * Starts the server; resolves once it listens.
 * (Not in tests/docs's example run: cli/ is outside it; tests/web/ui-server.test.ts covers it.)
 */
export async function startUi(o: UiOptions): Promise<UiServer> {
  const web = resolve(o.web ?? join(packageRoot(), 'dist', 'web'));
  const assets = resolve(o.assets ?? join(packageRoot(), 'assets'));
  const runs = resolve(o.runs);
  if (!existsSync(join(web, 'index.html'))) {
    throw new DsteerError(`${web}: the page is not built (no index.html); run \`npm run build:web\` (or \`npm run build\`) in the dsteer folder`, 1);
  }
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.setHeader('allow', 'GET, HEAD');
      return send(res, 405, 'read-only: GET and HEAD only\n');
    }
    let path: string;
    try {
      // the raw path: URL parsing would resolve `..` away before it could be refused
      path = decodeURIComponent((req.url ?? '/').split(/[?#]/)[0]!);
    } catch {
      return send(res, 400, 'bad URL encoding\n');
    }
    const rel = path.replace(/^\/+/, '');
    const segs = safeSegments(rel);
    if (segs === null) return send(res, 403, 'forbidden path\n');
    if (rel === 'api/runs') return send(res, 200, JSON.stringify({ dir: o.runs, runs: listRuns(runs) }), TYPES['.json']);
    let file: string | null;
    if (segs[0] === 'assets') {
      const a = segs.slice(1).join('/');
      if (!ASSET_ALLOWED.some((r) => r.test(a))) return send(res, 404, 'not a served asset\n');
      file = fileInside(assets, segs.slice(1));
    } else if (segs[0] === 'runs') {
      file = segs.length >= 3 ? fileInside(runs, segs.slice(1)) : null;
    } else {
      file = fileInside(web, segs.length === 0 ? ['index.html'] : segs);
    }
    if (file === null) return send(res, 404, 'not found\n');
    sendFile(req, res, file);
  };
  const server = createServer((req, res) => {
    try {
      handler(req, res);
    } catch (e) {
      send(res, 500, `${e instanceof Error ? e.message : String(e)}\n`);
    }
  });
  await new Promise<void>((ok, fail) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      fail(e.code === 'EADDRINUSE' ? new DsteerError(`--port ${o.port}: the port is in use on ${o.host}; choose another (0 = any free port)`, 2) : e),
    );
    server.listen(o.port, o.host, () => ok());
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : o.port;
  const host = o.host.includes(':') ? `[${o.host}]` : o.host;
  return {
    url: `http://${host}:${port}/`,
    server,
    close: () => new Promise<void>((ok) => { server.closeAllConnections(); server.close(() => ok()); }),
  };
}

export interface UiFlags {
  port: string;
  host: string;
  runs: string;
}

/** Registers `dsteer ui`. */
export function registerUi(program: Command): void {
  program
    .command('ui')
    .description('serve the interactive page (live steering in the browser, run explorer, activation view); read-only, models run in the browser')
    .option('--port <n>', 'port to listen on (0 = any free port)', '5173')
    .option('--host <addr>', 'address to listen on', '127.0.0.1')
    .option('--runs <dir>', 'folder of run directories for the run explorer (served read-only)', './runs')
    .action(async (f: UiFlags) => {
      const ui = await startUi({ port: parseIntIn('--port', f.port, 0, 65535), host: f.host, runs: f.runs });
      process.stdout.write(`${ui.url}\n`);
      note(`dsteer ui: serving the page at ${ui.url} (runs from ${f.runs}); Ctrl+C stops`);
      await new Promise<void>((done) => {
        const stop = (): void => void ui.close().then(done);
        process.once('SIGINT', stop);
        process.once('SIGTERM', stop);
      });
    });
}
