/**
 * Byte sources: the only way code below cli/ reads model and data files, so the same loaders run
 * in Node (engine/byte-source-node.ts, positioned reads from a file) and in a browser (an
 * ArrayBuffer or a URL). Nothing here imports a Node module.
 */

/** A random-access, read-only byte range such as one file. */
export interface ByteSource {
  /** Shown in error messages: a file path or URL. */
  readonly name: string;
  /** Total length in bytes. */
  readonly size: number;
  /** Reads `length` bytes at `offset` into a new array. Throws a DsteerError when out of range. */
  read(offset: number, length: number): Promise<Uint8Array>;
  /** Releases the underlying handle (a no-op for in-memory sources). */
  close(): Promise<void>;
}

/** A folder of named files, such as a Hugging Face model directory. */
export interface FileDir {
  /** Shown in error messages: a folder path or base URL. */
  readonly name: string;
  /** Joins a file name onto the folder for messages. */
  path(file: string): string;
  /** Opens a file, or returns null when it does not exist. */
  open(file: string): Promise<ByteSource | null>;
  /** Reads a whole file as UTF-8 text, or returns null when it does not exist. */
  readText(file: string): Promise<string | null>;
}

/** An in-memory byte source (tests, browsers with a fetched ArrayBuffer). */
export class MemorySource implements ByteSource {
  readonly size: number;
  constructor(readonly name: string, private readonly bytes: Uint8Array) {
    this.size = bytes.byteLength;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    if (offset < 0 || length < 0 || offset + length > this.size) {
      throw new RangeError(`${this.name}: read of ${length} bytes at ${offset} is outside its ${this.size} bytes`);
    }
    return this.bytes.slice(offset, offset + length);
  }
  async close(): Promise<void> {}
}

/** An in-memory folder: file name -> bytes or text. */
export class MemoryDir implements FileDir {
  constructor(readonly name: string, private readonly files: Record<string, Uint8Array | string>) {}
  path(file: string): string {
    return `${this.name}/${file}`;
  }
  async open(file: string): Promise<ByteSource | null> {
    const f = this.files[file];
    if (f === undefined) return null;
    return new MemorySource(this.path(file), typeof f === 'string' ? new TextEncoder().encode(f) : f);
  }
  async readText(file: string): Promise<string | null> {
    const f = this.files[file];
    if (f === undefined) return null;
    return typeof f === 'string' ? f : new TextDecoder().decode(f);
  }
}
