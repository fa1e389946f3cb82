/** Small in-memory files for the reader tests. */
import { MemorySource, type ByteSource } from '../../engine/byte-source.js';

export const enc = new TextEncoder();

export function mem(name: string, content: string | Uint8Array): MemorySource {
  return new MemorySource(name, typeof content === 'string' ? enc.encode(content) : content);
}

/** gzip with the web-standard CompressionStream (what a browser would have produced). */
export async function gzip(content: string | Uint8Array): Promise<Uint8Array> {
  const bytes = typeof content === 'string' ? enc.encode(content) : content;
  const stream = new Blob([bytes as Uint8Array<ArrayBuffer>]).stream().pipeThrough(new CompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>);
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

export async function collect<T>(gen: AsyncIterable<T>): Promise<T[]> {
  const out: T[] = [];
  for await (const x of gen) out.push(x);
  return out;
}

/** Chunk sizes that put boundaries everywhere, plus the default. */
export const CHUNKS = [1, 2, 3, 5, 7, 64, undefined] as const;

/** A ByteSource that records every read: concurrency, sizes, bytes requested. */
export class CountingSource implements ByteSource {
  inFlight = 0;
  maxInFlight = 0;
  maxRead = 0;
  bytesRead = 0;
  reads = 0;
  constructor(private readonly inner: ByteSource) {}
  get name(): string {
    return this.inner.name;
  }
  get size(): number {
    return this.inner.size;
  }
  async read(offset: number, length: number): Promise<Uint8Array> {
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    this.maxRead = Math.max(this.maxRead, length);
    this.reads++;
    try {
      await new Promise((r) => setTimeout(r, 0)); // a real file read is asynchronous too
      const out = await this.inner.read(offset, length);
      this.bytesRead += out.length;
      return out;
    } finally {
      this.inFlight--;
    }
  }
  async close(): Promise<void> {}
}
