/**
 * Requests read in one turn of the event loop go on together, at its end.
 *
 * Node parses a request and hands it to Fastify from the socket's read
 * callback. A request that needs nothing from the database (a JWT bearer check
 * whose token and parties are in memory) was then answered there and then,
 * before the next socket was read. Here the first onRequest hook holds each
 * request until the turn's reads are done (setImmediate runs after the poll
 * phase), and the turn's requests then go on one after another, in the order
 * they arrived: the same work, in two runs over the turn's requests instead of
 * one per request.
 *
 * Measured on the benchmark's machine (bench/ANALYSIS.md, twenty-fifth pass):
 * a JWT check on /api/me took 39 and 37 µs of CPU against 49 and 47 answered
 * at once (two alternated pairs of runs), with as many instructions under
 * callgrind and system calls per response: the gain is in how the
 * processor runs the same work, each stage over the turn's requests. The
 * opaque check, whose lookup already waited for the end of the turn
 * (turn-batch.ts), did not change. What a request waits is the rest of the
 * turn's reads: nothing when it is alone.
 */
import type { FastifyInstance } from 'fastify';

export function registerTurnCohort(app: FastifyInstance): void {
  let held: Array<() => void> = [];
  const release = () => {
    const turn = held;
    held = [];
    for (let index = 0; index < turn.length; index++) {
      // Fastify catches what its hooks and handlers throw; should anything still escape,
      // the turn's other requests go on all the same.
      try {
        (turn[index] as () => void)();
      } catch (error) {
        app.log.error({ err: error }, 'a request failed past its onRequest hooks');
      }
    }
  };
  // A callback hook (see security-headers.ts); registered before every other onRequest hook.
  app.addHook('onRequest', (_request, _reply, done) => {
    if (held.length === 0) setImmediate(release);
    held.push(done);
  });
}
