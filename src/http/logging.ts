/** Logger options: structured, with every credential kept out of the output. */
import { type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';
import pino from 'pino';
import { jsonString } from './json-string.js';
import { LineBatch, type LineSink } from './line-batch.js';

const SENSITIVE_PARAMS = new Set([
  'code',
  'code_verifier',
  'client_secret',
  'refresh_token',
  'access_token',
  'token',
  'password',
  'csrf_token',
  'id_token',
  'assertion',
]);

/** The request URL with the values of credential parameters masked. */
export function redactUrl(url: string): string {
  const mark = url.indexOf('?');
  if (mark === -1) return url;
  const query = new URLSearchParams(url.slice(mark + 1));
  let changed = false;
  for (const name of [...query.keys()]) {
    if (SENSITIVE_PARAMS.has(name.toLowerCase())) {
      query.set(name, '[redacted]');
      changed = true;
    }
  }
  return changed ? `${url.slice(0, mark)}?${query.toString()}` : url;
}

let stdout: LineBatch | undefined;

/**
 * Standard output, written asynchronously and in batches: lines gather until
 * 4 KiB or 250 ms, whichever comes first, and go out in one write in libuv's
 * thread pool, instead of one blocking write(2) per line on the event loop
 * (measured: 5-10% of a bearer check). The lines gather in a LineBatch, which
 * hands each batch to pino's SonicBoom whole. What is gathered or pending is
 * written out synchronously when the process exits; a SIGKILL loses at most
 * the last 250 ms of lines. One stream per process, however many apps.
 */
function stdoutDestination(): LineBatch {
  if (stdout !== undefined) return stdout;
  // However the process ends ('exit' comes after 'beforeExit', process.exit()
  // and an uncaught exception alike), while writes can still be made synchronously.
  process.on('exit', () => {
    try {
      stdout?.flushSync();
    } catch {
      // At exit there is nowhere left to report a failed write to: the log was the place.
    }
  });
  stdout = batchedDestination(1);
  return stdout;
}

/** Lines gathered until 4 KiB or 250 ms and written to `dest` (a descriptor or a path) asynchronously, a batch at a time. */
export function batchedDestination(dest: number | string): LineBatch {
  return new LineBatch(byteDestination({ dest, sync: false }), { batchLength: 4096, intervalMs: 250 });
}

/** pino's SonicBoom writing bytes to `dest`: its `contentMode: 'buffer'`, which SonicBoom's types leave out. */
export function byteDestination({ dest, sync }: { dest: number | string; sync: boolean }): LineSink {
  return pino.destination({ dest, sync, minLength: 0, contentMode: 'buffer' }) as unknown as LineSink;
}

let lastNow = Number.NaN;
let lastTime = '';

/**
 * Pino's default time field (`,"time":` and the epoch milliseconds), made once
 * per millisecond: a time is past V8's small integers, and turning it into text
 * went through V8's runtime each line (2,200 instructions of a `GET /healthz`).
 */
export function epochTime(): string {
  const now = Date.now();
  if (now !== lastNow) {
    lastNow = now;
    lastTime = `,"time":${now}`;
  }
  return lastTime;
}

/**
 * jsonString of the string it was last given, kept. A request line's method,
 * address and id label are most often those of the line before: the method
 * and the label the very same strings, the address its connection's. A
 * comparison costs a fraction of the scan (about 440 instructions a string
 * under callgrind).
 */
class LastQuoted {
  private value: string | undefined;
  private quoted = '';

  of(value: string): string {
    if (value !== this.value) {
      this.quoted = jsonString(value);
      this.value = value;
    }
    return this.quoted;
  }
}

const quotedLabel = new LastQuoted();
const quotedMethod = new LastQuoted();
const quotedAddress = new LastQuoted();

/** Where logs go: `stream` when given (tests read them back), else standard output. */
export function loggerOptions(level: string, stream?: NodeJS.WritableStream): Exclude<FastifyServerOptions['logger'], boolean | undefined> {
  return {
    level,
    stream: stream ?? stdoutDestination(),
    timestamp: epochTime,
    redact: {
      paths: ['req.headers.authorization', 'req.headers.cookie', 'res.headers["set-cookie"]', '*.password', '*.client_secret'],
      censor: '[redacted]',
    },
    serializers: {
      req(request: { method: string; url: string; ip?: string; id?: string }) {
        return { method: request.method, url: redactUrl(request.url), remoteAddress: request.ip };
      },
    },
  };
}

const symbol = pino.symbols;

/** The parts of a pino logger its own line-writing reads (pino.symbols are its published keys to them). */
interface PinoLine {
  [symbol.lsCacheSym]: Record<number, string>;
  [symbol.timeSym]: () => string;
  [symbol.chindingsSym]: string;
  [symbol.endSym]: string;
  [symbol.streamSym]: { write(line: string): unknown; [symbol.needsMetadataGsym]?: boolean };
  [symbol.messageKeySym]: string;
  [symbol.mixinSym]?: unknown;
  [symbol.nestedKeySym]?: unknown;
  [symbol.formattersSym]: { log?: unknown };
  [symbol.hooksSym]: { streamWrite?: unknown };
}

const INFO = 30;

/**
 * The stream CompletedLines' lines may go to directly: undefined when the
 * logger is not pino (Fastify's null logger, when logging is off) or is
 * configured in a way the line does not reproduce (a mixin, a log formatter,
 * a nested key, another message key, a stream that wants each line's
 * metadata); pino then writes the line itself.
 */
export function directStream(logger: FastifyBaseLogger): PinoLine[typeof symbol.streamSym] | undefined {
  const line = logger as unknown as PinoLine;
  const stream = line[symbol.streamSym];
  if (
    stream === undefined ||
    stream[symbol.needsMetadataGsym] === true ||
    line[symbol.mixinSym] ||
    line[symbol.nestedKeySym] ||
    line[symbol.formattersSym].log ||
    line[symbol.hooksSym].streamWrite ||
    line[symbol.messageKeySym] !== 'msg'
  ) {
    return undefined;
  }
  return stream;
}

/**
 * A response time in milliseconds, to the microsecond: what every request's
 * line says. Beyond that its digits said nothing (Fastify's own are a double's
 * seventeen), and writing them was a call into V8's runtime: about 1,500
 * instructions of a bearer check under callgrind (ANALYSIS.md, twenty-sixth pass).
 */
export function roundedMs(ms: number): number {
  return Math.round(ms * 1000) / 1000;
}

/**
 * `${roundedMs(ms)}`, from integers, which V8 writes from its cache of their
 * strings: the same shortest digits (the double nearest k/1000 is written as k/1000's).
 */
export function roundedMsText(ms: number): string {
  const micros = Math.round(ms * 1000);
  // Beyond what integers write exactly, and NaN: as JavaScript writes it.
  if (!(micros >= 0 && micros <= 0x7fffffff)) return `${micros / 1000}`;
  const fraction = micros % 1000;
  const whole = (micros - fraction) / 1000;
  if (fraction === 0) return `${whole}`;
  const digits = fraction < 10 ? `00${fraction}` : fraction < 100 ? `0${fraction}` : `${fraction}`;
  // The shortest digits have no trailing zero: .120 is .12, .100 is .1.
  return `${whole}.${fraction % 100 === 0 ? digits.slice(0, 1) : fraction % 10 === 0 ? digits.slice(0, 2) : digits}`;
}

/**
 * The "request completed" line of a logger's requests, in the bytes pino writes for
 * `logger.info({ reqId, req, res, responseTime }, 'request completed')` with
 * the serializers above, built in one template. Its fields are fixed, so
 * pino's general path (for each field: a serializer, a type switch, a
 * stringify) is not needed: measured under callgrind, the line cost 25,000
 * instructions of the 147,000 of a `GET /healthz`. For a logger directStream
 * accepts; tests/ops/logs.test.ts compares it with pino's own line.
 *
 * What the line takes from its logger, but for the bindings (which
 * `setBindings` may change), is fixed when the logger is made, so it is read
 * once per logger: reading pino's symbol-keyed fields on every line cost about
 * 1,000 instructions of a JWT bearer check (ANALYSIS.md, twenty-eighth pass).
 */
export class CompletedLines {
  private constructor(
    readonly logger: FastifyBaseLogger,
    readonly stream: PinoLine[typeof symbol.streamSym],
    private readonly level: string,
    private readonly time: () => string,
    private readonly end: string,
  ) {}

  /** The lines of `logger`, or undefined when directStream leaves them to pino. */
  static of(logger: FastifyBaseLogger): CompletedLines | undefined {
    const stream = directStream(logger);
    if (stream === undefined) return undefined;
    const line = logger as unknown as PinoLine;
    return new CompletedLines(logger, stream, line[symbol.lsCacheSym][INFO] as string, line[symbol.timeSym], line[symbol.endSym]);
  }

  line(requestIdLabel: string, request: FastifyRequest, reply: FastifyReply): string {
    const address = request.ip;
    const req = `{"method":${quotedMethod.of(request.method)},"url":${jsonString(redactUrl(request.url))}${address === undefined ? '' : `,"remoteAddress":${quotedAddress.of(address)}`}}`;
    const bindings = (this.logger as unknown as PinoLine)[symbol.chindingsSym];
    return `${this.level}${this.time()}${bindings},${quotedLabel.of(requestIdLabel)}:${jsonString(request.id)},"req":${req},"res":{"statusCode":${reply.statusCode}},"responseTime":${roundedMsText(reply.elapsedTime)},"msg":"request completed"${this.end}`;
  }
}

/**
 * One line per request, when it is answered. Fastify's default is two, one on
 * arrival and one on completion; the second says everything the first does
 * once it carries the request too, and on the bearer path a log line costs as
 * much as the token lookup.
 *
 * The line of a request answered without error is written by CompletedLines,
 * without the logger's redaction (which cost more than the rest of the line:
 * 5 of 8.5 µs): its fields are fixed and none can hold a secret (the method,
 * the URL with credential parameters masked, the address, the status). Every
 * other line, errors included, goes through pino and is redacted as configured.
 */
export class OneLinePerRequest extends LogController {
  /** The lines of the logger last asked for: every request of an application logs to the same one. */
  private lines: { logger: FastifyBaseLogger; direct: CompletedLines | undefined } | undefined;

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: roundedMs(reply.elapsedTime) }, 'request errored');
      return;
    }
    const logger = request.server.log;
    let lines = this.lines;
    if (lines === undefined || lines.logger !== logger) this.lines = lines = { logger, direct: CompletedLines.of(logger) };
    const direct = lines.direct;
    if (direct === undefined) {
      logger.info({ [this.requestIdLogLabel]: request.id, req: request, res: reply, responseTime: roundedMs(reply.elapsedTime) }, 'request completed');
    } else if ((logger as pino.Logger).isLevelEnabled('info')) {
      direct.stream.write(direct.line(this.requestIdLogLabel, request, reply));
    }
  }
}

type LogArguments = Parameters<FastifyBaseLogger['info']>;

/**
 * A request's logger, made when the request first logs something: Fastify
 * gives every request a child of the application's logger (binding its id),
 * and most requests, answered without error, never write through it (their
 * one line is written by CompletedLines). Measured under callgrind: making the
 * child cost 3,000 instructions of a `GET /healthz`.
 */
class RequestLogger implements FastifyBaseLogger {
  private made: FastifyBaseLogger | undefined;

  constructor(
    private readonly parent: FastifyBaseLogger,
    private readonly makeChild: FastifyBaseLogger['child'],
    private readonly bindings: pino.Bindings,
    private readonly options: pino.ChildLoggerOptions,
  ) {}

  private get logger(): FastifyBaseLogger {
    this.made ??= this.makeChild.call(this.parent, this.bindings, this.options);
    return this.made;
  }

  get level(): string {
    return this.made?.level ?? this.options.level ?? this.parent.level;
  }

  set level(level: string) {
    this.logger.level = level;
  }

  fatal(...args: LogArguments): void {
    this.logger.fatal(...args);
  }
  error(...args: LogArguments): void {
    this.logger.error(...args);
  }
  warn(...args: LogArguments): void {
    this.logger.warn(...args);
  }
  info(...args: LogArguments): void {
    this.logger.info(...args);
  }
  debug(...args: LogArguments): void {
    this.logger.debug(...args);
  }
  trace(...args: LogArguments): void {
    this.logger.trace(...args);
  }
  silent(...args: LogArguments): void {
    this.logger.silent(...args);
  }
  child(bindings: pino.Bindings, options?: pino.ChildLoggerOptions): FastifyBaseLogger {
    return this.logger.child(bindings, options);
  }
}

/**
 * Makes the application's logger hand out children made on first use
 * (RequestLogger). Fastify makes each request's logger with the application
 * logger's own `child` unless a childLoggerFactory is configured; with one, it
 * checks the logger the factory returns on every request (validateLogger:
 * seven method names looked up twice each, about 2,500 instructions of a JWT
 * bearer check under callgrind, ANALYSIS.md twenty-sixth pass). So the
 * deferral lives in `child` itself, and Fastify's default factory calls it.
 */
export function deferChildLoggers(logger: FastifyBaseLogger): void {
  const makeChild = logger.child;
  // pino's children inherit from their parent, this `child` included: `this` is whichever logger it is called on.
  logger.child = function deferredChild(this: FastifyBaseLogger, bindings, options) {
    return new RequestLogger(this, makeChild, bindings, options ?? {});
  };
}
