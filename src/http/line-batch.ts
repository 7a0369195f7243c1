/**
 * Log lines gathered in memory and handed to their writer (pino's SonicBoom)
 * a batch at a time.
 *
 * SonicBoom batches too, but it keeps its pending text as one string that
 * grows by concatenation, and measures that string's UTF-8 length on every
 * write (`Buffer.byteLength(bufs[last])`, which first flattens it): under
 * callgrind, some 7,000 instructions of every request's log line, growing with
 * the batch. Here a line costs an array push; a batch is joined and measured
 * once, when it is handed over (ANALYSIS.md, nineteenth pass).
 *
 * A batch is handed over as the bytes it will be written as. Given a string,
 * SonicBoom measures its UTF-8 length when it is written, again when a write is
 * pending, has fs.write encode it, and once it is written makes a Buffer of it
 * all over again to find the bytes left (its `releaseWritingBuf`): four passes
 * over every batch where one encoding is needed (ANALYSIS.md, twenty-eighth pass).
 */

/** What a batch is handed to: pino.destination's SonicBoom in its `contentMode: 'buffer'`, or any stream that writes bytes and flushes. */
export interface LineSink {
  write(chunk: Buffer): unknown;
  flush(callback: (error?: Error) => void): void;
  flushSync(): void;
  end(): void;
  readonly destroyed?: boolean;
}

export interface LineBatchOptions {
  /** A batch is handed over once its lines hold this many UTF-16 code units: a size to aim for, not a byte count. */
  batchLength: number;
  /** Lines never wait longer than this, however few. */
  intervalMs: number;
}

export class LineBatch {
  private lines: string[] = [];
  private length = 0;
  private readonly batchLength: number;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly sink: LineSink,
    { batchLength, intervalMs }: LineBatchOptions,
  ) {
    if (!(batchLength > 0) || !(intervalMs > 0)) throw new TypeError('batchLength and intervalMs must be positive');
    this.batchLength = batchLength;
    this.timer = setInterval(() => this.handOver(), intervalMs);
    this.timer.unref();
  }

  /** Pino's and CompletedLines' writes: each is one whole line. */
  write(line: string): boolean {
    this.lines.push(line);
    this.length += line.length;
    if (this.length >= this.batchLength) this.handOver();
    return true;
  }

  /** Hands what is gathered to the sink, which writes it as one chunk. */
  private handOver(): void {
    if (this.lines.length === 0) return;
    const chunk = this.lines.length === 1 ? (this.lines[0] as string) : this.lines.join('');
    this.lines = [];
    this.length = 0;
    // A sink that was ended takes nothing more: the lines are dropped rather than kept without bound.
    if (!this.sink.destroyed) this.sink.write(Buffer.from(chunk));
  }

  /** pino's `logger.flush(callback)`. */
  flush(callback: (error?: Error) => void = () => {}): void {
    this.handOver();
    this.sink.flush(callback);
  }

  /** Everything gathered and pending, written before this returns (at exit). */
  flushSync(): void {
    this.handOver();
    if (!this.sink.destroyed) this.sink.flushSync();
  }

  end(): void {
    clearInterval(this.timer);
    this.handOver();
    if (!this.sink.destroyed) this.sink.end();
  }
}
