/**
 * Node byte sources: positioned reads from files. The one place below cli/ that touches `fs`
 * (ARCHITECTURE.md: "engine's Node byte source").
 */
import { open, readFile, stat, type FileHandle } from 'node:fs/promises';
import { join } from 'node:path';
import { DsteerError } from './errors.js';
import type { ByteSource, FileDir } from './byte-source.js';

/** A file read with positioned reads; never buffered whole. */
export class FileSource implements ByteSource {
  private constructor(readonly name: string, readonly size: number, private readonly fh: FileHandle) {}

  static async open(path: string): Promise<FileSource> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r');
    } catch (e) {
      throw new DsteerError(`${path}: cannot open (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
    const st = await fh.stat();
    if (!st.isFile()) {
      await fh.close();
      throw new DsteerError(`${path}: not a regular file`);
    }
    return new FileSource(path, st.size, fh);
  }

  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new DsteerError(`${this.name}: read of ${length} bytes at offset ${offset} is outside the file (${this.size} bytes)`);
    }
    const out = new Uint8Array(length);
    let done = 0;
    while (done < length) {
      const { bytesRead } = await this.fh.read(out, done, length - done, offset + done);
      if (bytesRead === 0) throw new DsteerError(`${this.name}: file ended early at offset ${offset + done}`);
      done += bytesRead;
    }
    return out;
  }

  async close(): Promise<void> {
    await this.fh.close();
  }
}

/** A folder on disk. */
export class NodeDir implements FileDir {
  constructor(readonly name: string) {}

  static async open(path: string): Promise<NodeDir> {
    let st;
    try {
      st = await stat(path);
    } catch {
      throw new DsteerError(`${path}: no such directory`);
    }
    if (!st.isDirectory()) throw new DsteerError(`${path}: not a directory (expected a model folder with config.json)`);
    return new NodeDir(path);
  }

  path(file: string): string {
    return join(this.name, file);
  }

  async open(file: string): Promise<ByteSource | null> {
    try {
      await stat(this.path(file));
    } catch {
      return null;
    }
    return FileSource.open(this.path(file));
  }

  async readText(file: string): Promise<string | null> {
    try {
      return await readFile(this.path(file), 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new DsteerError(`${this.path(file)}: cannot read (${(e as NodeJS.ErrnoException).code ?? String(e)})`);
    }
  }
}
