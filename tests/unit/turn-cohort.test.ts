/** The turn cohort: requests read in one turn of the event loop go on together at its end, in arrival order. */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import Fastify from 'fastify';
import { registerTurnCohort } from '../../src/http/turn-cohort.js';

/** An app that writes down when each request arrives (its id is made then) and when its handler runs. */
async function appWithCohort(cohort: boolean) {
  const events: string[] = [];
  const app = Fastify({
    genReqId: (request) => {
      events.push(`arrived ${request.headers['x-n']}`);
      return String(request.headers['x-n']);
    },
  });
  if (cohort) registerTurnCohort(app);
  app.get('/', (request, reply) => {
    events.push(`handled ${request.id}`);
    reply.send(`answer ${request.id}`);
  });
  app.get('/fails', () => {
    throw new Error('the handler failed');
  });
  await app.ready();
  const send = (n: number, url = '/') => app.inject({ method: 'GET', url, headers: { 'x-n': String(n) } });
  return { app, events, send };
}

test('requests of one turn are all read before the first goes on, then go on in the order they arrived', async () => {
  // light-my-request hands requests sent together to the server in one turn, as a busy socket poll does.
  const without = await appWithCohort(false);
  await Promise.all([1, 2, 3].map((n) => without.send(n)));
  assert.deepEqual(without.events, ['arrived 1', 'handled 1', 'arrived 2', 'handled 2', 'arrived 3', 'handled 3'], 'without it, each is answered as it is read');

  const { events, send } = await appWithCohort(true);
  const answers = await Promise.all([1, 2, 3].map((n) => send(n)));
  assert.deepEqual(events, ['arrived 1', 'arrived 2', 'arrived 3', 'handled 1', 'handled 2', 'handled 3']);
  assert.deepEqual(
    answers.map((answer) => answer.body),
    ['answer 1', 'answer 2', 'answer 3'],
  );
});

test('a request alone goes on at the end of its turn; each later turn forms a cohort of its own', async () => {
  const { events, send } = await appWithCohort(true);
  assert.equal((await send(1)).body, 'answer 1');
  await Promise.all([send(2), send(3)]);
  assert.equal((await send(4)).body, 'answer 4');
  assert.deepEqual(events, ['arrived 1', 'handled 1', 'arrived 2', 'arrived 3', 'handled 2', 'handled 3', 'arrived 4', 'handled 4']);
});

test("a request that fails does not hold back the others of its turn", async () => {
  const { send } = await appWithCohort(true);
  const [first, failed, last] = await Promise.all([send(1), send(2, '/fails'), send(3)]);
  assert.equal(first?.statusCode, 200);
  assert.equal(failed?.statusCode, 500);
  assert.equal(last?.statusCode, 200);
  assert.equal(last?.body, 'answer 3');
});
