/**
 * One of Node's tick objects, kept alive for the life of the process, so that
 * V8 never forgets their shape.
 *
 * `process.nextTick` queues `{ [async_id_symbol]: …, [trigger_async_id_symbol]:
 * …, callback, args }`, some ten times per HTTP request in Node's own stream
 * code. V8 compiles the two computed keys to inline stores while its feedback
 * for them names one hidden class (map). That feedback holds the map weakly, and
 * so do the maps before it in their transition chain; while no tick object is
 * alive, nothing holds them at all. A full garbage collection at such a moment
 * frees them, the feedback then names no map, the next tick object's map
 * differs from it, and V8 marks the feedback megamorphic for good: from then
 * on every tick object costs two calls of V8's runtime
 * (`Runtime_DefineKeyedOwnPropertyInLiteral`, about 1,300 instructions each),
 * 23,000 to 34,000 instructions per request, up to a quarter of a bearer
 * check. Whether a process is hit was a matter of when its collections ran
 * (ANALYSIS.md, eighteenth and nineteenth passes); a tick object that stays
 * alive holds its map and, through the map's back pointers, the whole chain.
 *
 * `executionAsyncResource()` inside a nextTick callback is that callback's
 * tick object: Node passes it as the async resource while it runs. No async
 * hook is installed.
 */
import { executionAsyncResource } from 'node:async_hooks';

let kept: object | undefined;

/** The tick object kept, once keepTickObjectShape has run. */
export function keptTickObject(): object | undefined {
  return kept;
}

/** Keeps a tick object alive from now on (once per process; later calls find it kept). */
export function keepTickObjectShape(): Promise<object> {
  if (kept !== undefined) return Promise.resolve(kept);
  return new Promise((resolve) => {
    process.nextTick(() => {
      kept ??= executionAsyncResource();
      resolve(kept);
    });
  });
}
