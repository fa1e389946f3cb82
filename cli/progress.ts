/**
 * Progress lines on stderr for long commands: `label [#####-----] done/total extra elapsed`,
 * redrawn in place on a terminal (at most 5 times a second), one plain line every 10 s otherwise
 * (logs and CI stay readable). The final state always prints.
 */
export interface Progress {
  /** Sets the count done (and an optional short text such as a rate). */
  update(done: number, extra?: string): void;
  /** Prints the final line. */
  done(extra?: string): void;
}

export function progress(label: string, total: number): Progress {
  const tty = process.stderr.isTTY === true;
  const t0 = performance.now();
  let last = -Infinity;
  let n = 0;
  let finished = false;
  const draw = (final: boolean, extra?: string): void => {
    const now = performance.now();
    if (!final && now - last < (tty ? 200 : 10_000)) return;
    last = now;
    const width = 30;
    const frac = total > 0 ? Math.min(1, n / total) : 1;
    const filled = Math.round(width * frac);
    const bar = '#'.repeat(filled) + '-'.repeat(width - filled);
    const secs = ((now - t0) / 1000).toFixed(1);
    const line = `${label} [${bar}] ${n}/${total}${extra ? ' ' + extra : ''} ${secs}s`;
    process.stderr.write(tty ? `\r\x1b[K${line}${final ? '\n' : ''}` : `${line}\n`);
  };
  return {
    update(done, extra) {
      n = done;
      draw(false, extra);
    },
    done(extra) {
      if (finished) return;
      finished = true;
      draw(true, extra);
    },
  };
}
