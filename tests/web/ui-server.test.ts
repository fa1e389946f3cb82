// `dsteer ui`'s server (cli/ui.ts), in-process: the page, the allowed assets, run files, the runs
// list, and refusals: path traversal (plain, percent-encoded, backslash), a symbolic link out of
// the runs folder, assets outside the allowed list, and writes. Uses a stand-in page folder so the
// test does not depend on `npm run build:web`.
import { existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { spawn } from 'node:child_process';
import { request } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startUi, type UiServer } from '../../cli/ui.js';
import { DsteerError } from '../../engine/errors.js';
import { repoPath } from '../helpers.js';

/** A raw GET (fetch would normalise `..` away before sending). */
function get(url: string, path: string, method = 'GET'): Promise<{ status: number; body: string }> {
  const u = new URL(url);
  return new Promise((ok, fail) => {
    const req = request({ host: u.hostname, port: u.port, path, method }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (c) => (body += c));
      res.on('end', () => ok({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', fail);
    req.end();
  });
}

describe('dsteer ui server', () => {
  let dir: string;
  let ui: UiServer;
  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'dsteer-ui-'));
    mkdirSync(join(dir, 'web'));
    writeFileSync(join(dir, 'web/index.html'), '<!doctype html><title>page</title>');
    writeFileSync(join(dir, 'secret.txt'), 'secret');
    mkdirSync(join(dir, 'runs/a'), { recursive: true });
    writeFileSync(join(dir, 'runs/a/report.json'), '{"judge":null}');
    writeFileSync(join(dir, 'runs/a/report.html'), '<p>r</p>');
    mkdirSync(join(dir, 'runs/no-report'));
    symlinkSync(join(dir, 'secret.txt'), join(dir, 'runs/a/link.txt'));
    ui = await startUi({ port: 0, host: '127.0.0.1', runs: join(dir, 'runs'), web: join(dir, 'web'), assets: repoPath('assets') });
  });
  afterAll(async () => {
    await ui?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it('serves the page, the allowed assets and run files', async () => {
    expect(ui.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
    expect((await get(ui.url, '/')).body).toContain('<title>page</title>');
    const cfg = await get(ui.url, '/assets/micro/sft/config.json');
    expect(cfg.status).toBe(200);
    expect(JSON.parse(cfg.body).hidden_size).toBe(64);
    expect((await get(ui.url, '/assets/micro/vector.safetensors', 'HEAD')).status).toBe(200);
    expect((await get(ui.url, '/assets/data/micro-advbench.csv')).body.startsWith('goal,target')).toBe(true);
    expect(JSON.parse((await get(ui.url, '/runs/a/report.json')).body)).toEqual({ judge: null });
    const list = JSON.parse((await get(ui.url, '/api/runs')).body);
    expect(list.runs).toEqual([{ name: 'a', html: true }]);
  });

  it('refuses traversal, links out of the root, unlisted assets and writes', async () => {
    for (const p of ['/runs/../secret.txt', '/runs/a/../../secret.txt', '/%2e%2e/secret.txt', '/runs/a/%2e%2e/%2e%2e/secret.txt', '/runs/a%2f..%2f..%2fsecret.txt', '/runs/a/..%5c..%5csecret.txt', '/assets/../package.json']) {
      const r = await get(ui.url, p);
      expect(r.status, p).toBe(403);
      expect(r.body).not.toContain('secret');
    }
    expect((await get(ui.url, '/runs/a/link.txt')).status).toBe(404); // a link leaving the runs folder
    expect((await get(ui.url, '/assets/micro/vector.samples.safetensors')).status).toBe(404); // not a served asset
    expect((await get(ui.url, '/assets/README.md')).status).toBe(404);
    expect((await get(ui.url, '/runs/a')).status).toBe(404); // no directory listing
    expect((await get(ui.url, '/runs/a/report.json', 'PUT')).status).toBe(405);
    expect((await get(ui.url, '/runs/a/report.json', 'DELETE')).status).toBe(405);
  });

  it('says how to build the page when it is missing, and names a busy port', async () => {
    await expect(startUi({ port: 0, host: '127.0.0.1', runs: dir, web: join(dir, 'nothing') })).rejects.toThrow(/npm run build:web/);
    const port = Number(new URL(ui.url).port);
    const err = await startUi({ port, host: '127.0.0.1', runs: dir, web: join(dir, 'web') }).catch((e) => e);
    expect(err).toBeInstanceOf(DsteerError);
    expect(err.message).toMatch(new RegExp(`--port ${port}: the port is in use`));
  });

  it('`dsteer ui --port 0` prints its address, serves the built page and stops on SIGTERM', async () => {
    if (!existsSync(repoPath('dist/cli/main.js')) || !existsSync(repoPath('dist/web/index.html'))) {
      throw new Error('dist/ or dist/web is missing: run `npm run build` first');
    }
    const child = spawn(process.execPath, [repoPath('bin/dsteer.js'), 'ui', '--port', '0', '--runs', join(dir, 'runs')], { stdio: ['ignore', 'pipe', 'pipe'] });
    const url = await new Promise<string>((ok, fail) => {
      let out = '';
      child.stdout.on('data', (c) => {
        out += c;
        if (out.includes('\n')) ok(out.split('\n')[0]!);
      });
      child.on('exit', (code) => fail(new Error(`dsteer ui exited with ${code}`)));
    });
    try {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/$/);
      const page = await get(url, '/');
      expect(page.status).toBe(200);
      expect(page.body).toContain('id="out-steered"');
      expect((await get(url, '/main.js', 'HEAD')).status).toBe(200);
      expect((await get(url, '/worker.js', 'HEAD')).status).toBe(200);
      expect(JSON.parse((await get(url, '/api/runs')).body).runs).toEqual([{ name: 'a', html: true }]);
    } finally {
      const code = await new Promise<number | null>((ok) => {
        child.on('exit', (c) => ok(c));
        child.kill('SIGTERM');
      });
      expect(code).toBe(0);
    }
  }, 30_000);
});
