/** Logger options: structured, with every credential kept out of the output. */
import { type FastifyBaseLogger, type FastifyReply, type FastifyRequest, type FastifyServerOptions, LogController } from 'fastify';
import pino from 'pino';

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

let stdout: pino.DestinationStream | undefined;

/**
 * Standard output, written asynchronously and in batches: lines gather until
 * 4 KiB or 250 ms, whichever comes first, and go out in one write in libuv's
 * thread pool, instead of one blocking write(2) per line on the event loop
 * (measured: 5-10% of a bearer check). Pino flushes what is left when the
 * process exits; a SIGKILL loses at most the last 250 ms of lines. One stream
 * per process, however many apps.
 */
function stdoutDestination(): pino.DestinationStream {
  stdout ??= pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 });
  return stdout;
}

/** Where logs go: `stream` when given (tests read them back), else standard output. */
export function loggerOptions(level: string, stream?: NodeJS.WritableStream): Exclude<FastifyServerOptions['logger'], boolean | undefined> {
  return {
    level,
    stream: stream ?? stdoutDestination(),
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

/**
 * One line per request, when it is answered. Fastify's default is two, one on
 * arrival and one on completion; the second says everything the first does
 * once it carries the request too, and on the bearer path a log line costs as
 * much as the token lookup.
 *
 * The line of a request answered without error skips the logger's redaction,
 * which costs more than the rest of the line (measured: 5 of 8.5 µs): its
 * fields are fixed and none can hold a secret (the serializers above keep the
 * method, the URL with credential parameters masked, the address, the
 * status). Every other line, errors included, is redacted as configured.
 */
export class OneLinePerRequest extends LogController {
  private readonly unredacted = new WeakMap<FastifyBaseLogger, FastifyBaseLogger>();

  override incomingRequest(): void {}

  override requestCompleted(error: Error | null | undefined, request: FastifyRequest, reply: FastifyReply): void {
    if (error) {
      reply.log.error({ req: request, res: reply, err: error, responseTime: reply.elapsedTime }, 'request errored');
      return;
    }
    const logger = this.unredactedLogger(request.server.log);
    logger.info({ [this.requestIdLogLabel]: request.id, req: request, res: reply, responseTime: reply.elapsedTime }, 'request completed');
  }

  private unredactedLogger(logger: FastifyBaseLogger): FastifyBaseLogger {
    let child = this.unredacted.get(logger);
    if (child === undefined) {
      child = logger.child({}, { redact: [] } as Parameters<FastifyBaseLogger['child']>[1]);
      this.unredacted.set(logger, child);
    }
    return child;
  }
}
