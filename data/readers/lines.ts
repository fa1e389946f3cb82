/**
 * Streaming text input for the benchmark readers: bytes come from a ByteSource in fixed-size
 * chunks (never the whole file), gzip is undone with the web-standard DecompressionStream, UTF-8
 * is decoded in stream mode (a character split across two chunks decodes once, whole), and lines
 * end at "\n" with a trailing "\r" dropped (CRLF files read like LF files). Runs unchanged in a
 * browser: no Node module here.
 *
 * Reads are strictly sequential: the next chunk is requested only after the previous one arrived
 * and was handed on, so at most one chunk (plus one decompressed block for .gz) is in memory.
 * Readers never close the source; whoever opened it does.
 */
import type { ByteSource } from '../../engine/byte-source.js';
import { DsteerError } from '../../engine/errors.js';

/** Options every reader accepts. */
export interface ReadOptions {
  /** true: always gunzip; false: never; absent: gunzip when the data starts with 1f 8b or the name ends in .gz. */
  gzip?: boolean;
  /** Bytes per read from the source (default 1 MiB). Tests use tiny sizes to put boundaries everywhere. */
  chunkSize?: number;
}

/** One line of text and its 1-based number in the (decompressed) file. */
export interface Line {
  line: string;
  lineNo: number;
}

export const DEFAULT_CHUNK_SIZE = 1 << 20;

/** The source's raw bytes, chunk by chunk, in order. */
async function* rawChunks(src: ByteSource, chunkSize: number): AsyncGenerator<Uint8Array> {
  for (let offset = 0; offset < src.size; offset += chunkSize) {
    yield await src.read(offset, Math.min(chunkSize, src.size - offset));
  }
}

/** Pipes byte chunks through DecompressionStream('gzip'), pulling the next input only on demand. */
async function* gunzip(name: string, input: AsyncGenerator<Uint8Array>): AsyncGenerator<Uint8Array> {
  const compressed = new ReadableStream<Uint8Array>({
    async pull(controller) {
      const next = await input.next();
      if (next.done) controller.close();
      else controller.enqueue(next.value);
    },
    async cancel() {
      await input.return(undefined);
    },
  });
  const reader = compressed.pipeThrough(new DecompressionStream('gzip') as unknown as TransformStream<Uint8Array, Uint8Array>).getReader();
  try {
    for (;;) {
      let r: ReadableStreamReadResult<Uint8Array>;
      try {
        r = await reader.read();
      } catch (e) {
        if (e instanceof DsteerError) throw e;
        throw new DsteerError(`${name}: the gzip data is corrupt or truncated (${e instanceof Error ? e.message : String(e)})`);
      }
      if (r.done) return;
      yield r.value;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}

/**
 * The file's bytes, decompressed when it is gzip, as a sequence of chunks.
 * @example
 *   const src = new MemorySource('a.txt', new TextEncoder().encode('héllo'));
 *   let total = 0;
 *   for await (const bytes of readByteChunks(src, { chunkSize: 2 })) total += bytes.length;
 *   assert(total === 6); // 'é' takes 2 bytes in UTF-8
 */
export async function* readByteChunks(src: ByteSource, opts: ReadOptions = {}): AsyncGenerator<Uint8Array> {
  const chunkSize = opts.chunkSize ?? DEFAULT_CHUNK_SIZE;
  if (!Number.isInteger(chunkSize) || chunkSize < 1) throw new DsteerError(`chunkSize must be a positive integer (got ${chunkSize})`);
  // At least 2 bytes in the first read so the gzip magic is seen whole.
  const raw = rawChunks(src, Math.max(chunkSize, 2));
  const first = await raw.next();
  if (first.done) return;
  const magic = first.value.length >= 2 && first.value[0] === 0x1f && first.value[1] === 0x8b;
  const named = /\.gz$/i.test(src.name);
  if (opts.gzip === true || (opts.gzip === undefined && (magic || named))) {
    if (!magic) {
      throw new DsteerError(`${src.name}: expected gzip data (${named ? 'the name ends in .gz' : 'gzip was requested'}) but the file does not start with the gzip magic bytes 1f 8b`);
    }
    async function* all(): AsyncGenerator<Uint8Array> {
      yield first.value as Uint8Array;
      yield* raw;
    }
    yield* gunzip(src.name, all());
    return;
  }
  yield first.value;
  yield* raw;
}

/** The file's text (UTF-8, BOM dropped), chunk by chunk; a multi-byte character is never split. */
export async function* readTextChunks(src: ByteSource, opts: ReadOptions = {}): AsyncGenerator<string> {
  const decoder = new TextDecoder('utf-8');
  for await (const bytes of readByteChunks(src, opts)) {
    const text = decoder.decode(bytes, { stream: true });
    if (text.length > 0) yield text;
  }
  const tail = decoder.decode();
  if (tail.length > 0) yield tail;
}

/**
 * Splits a stream of text chunks into lines ("\n" or "\r\n"). A last line without a newline is
 * still a line; the empty string after a final newline is not.
 */
export async function* splitLines(chunks: AsyncIterable<string>): AsyncGenerator<Line> {
  let carry = '';
  let lineNo = 0;
  for await (const text of chunks) {
    let start = 0;
    let nl = text.indexOf('\n');
    while (nl >= 0) {
      let line = carry + text.slice(start, nl);
      carry = '';
      if (line.endsWith('\r')) line = line.slice(0, -1);
      yield { line, lineNo: ++lineNo };
      start = nl + 1;
      nl = text.indexOf('\n', start);
    }
    carry += text.slice(start);
  }
  if (carry.endsWith('\r')) carry = carry.slice(0, -1);
  if (carry.length > 0) yield { line: carry, lineNo: ++lineNo };
}

/**
 * Reads a text file (optionally gzip) line by line, in chunks.
 * @example
 *   const src = new MemorySource('a.txt', new TextEncoder().encode('one\r\ntwo\nthree'));
 *   const lines = [];
 *   for await (const { line, lineNo } of readLines(src)) lines.push(`${lineNo}:${line}`);
 *   assert(lines.join(' ') === '1:one 2:two 3:three'); // CRLF and a missing last newline are fine
 */
export function readLines(src: ByteSource, opts: ReadOptions = {}): AsyncGenerator<Line> {
  return splitLines(readTextChunks(src, opts));
}

/** The last path component of a file name or URL, for one-line summaries. */
export function baseName(name: string): string {
  const parts = name.split(/[\\/]/);
  return parts[parts.length - 1] || name;
}
