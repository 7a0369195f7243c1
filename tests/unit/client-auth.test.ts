/** Client authentication at the token endpoint (RFC 6749 §2.3). */
import assert from 'node:assert/strict';
import { before, describe, test } from 'node:test';
import { authenticateClient, type PresentedCredentials, presentedCredentials } from '../../src/core/client-auth.js';
import { InvalidClient, InvalidRequest } from '../../src/core/errors.js';
import type { Client, ClientAuthMethod } from '../../src/core/model.js';
import { hashCredential } from '../../src/core/secrets.js';
import { rotateClientSecret } from '../../src/services/clients.js';
import { makeClient } from '../support/fixtures.js';
import { caught, useSqliteStore } from './core-fixtures.js';

/** An Authorization header built the RFC 6749 §2.3.1 way: form-encode, join with ":", base64. */
function basicHeader(id: string, secret: string, scheme = 'Basic'): string {
  const encode = (value: string) => encodeURIComponent(value).replace(/%20/g, '+');
  return `${scheme} ${Buffer.from(`${encode(id)}:${encode(secret)}`).toString('base64')}`;
}

function rawBasic(decoded: string): string {
  return `Basic ${Buffer.from(decoded).toString('base64')}`;
}

function assertInvalidClient(error: unknown, usedBasic: boolean): void {
  assert.ok(error instanceof InvalidClient, `expected InvalidClient, got ${String(error)}`);
  assert.equal(error.error, 'invalid_client');
  assert.equal(error.status, 401);
  assert.equal(error.usedBasic, usedBasic);
}

describe('presentedCredentials', () => {
  test('RFC 6749 §2.3.1: HTTP Basic gives client_secret_basic with the id and secret', () => {
    assert.deepEqual(presentedCredentials(basicHeader('lkc_abc', 'lk_cs_secret'), {}), {
      method: 'client_secret_basic',
      clientId: 'lkc_abc',
      secret: 'lk_cs_secret',
    });
  });

  test('RFC 6749 §2.3.1: the id and secret are form-urlencoded inside the Basic credentials', () => {
    const id = 'client:with colon&amp';
    const secret = 'p@ss:w rd+/%é';
    const presented = presentedCredentials(basicHeader(id, secret), {});
    assert.equal(presented.clientId, id);
    assert.equal(presented.secret, secret);
  });

  test('RFC 6749 §2.3.1: "+" inside Basic credentials decodes to a space, "%2B" to a plus', () => {
    assert.equal(presentedCredentials(rawBasic('id:a+b'), {}).secret, 'a b');
    assert.equal(presentedCredentials(rawBasic('id:a%2Bb'), {}).secret, 'a+b');
  });

  test('RFC 7617 §2: the secret is everything after the first colon', () => {
    assert.equal(presentedCredentials(rawBasic('id:se:cr:et'), {}).secret, 'se:cr:et');
    assert.equal(presentedCredentials(rawBasic('id:'), {}).secret, '');
  });

  test('RFC 7235 §2.1: the Basic scheme name is case-insensitive', () => {
    assert.equal(presentedCredentials(basicHeader('c1', 's1', 'basic'), {}).method, 'client_secret_basic');
    assert.equal(presentedCredentials(basicHeader('c1', 's1', 'BASIC'), {}).clientId, 'c1');
  });

  test('RFC 6749 §5.2: malformed Basic credentials are invalid_client, flagged as Basic (for the 401 challenge)', () => {
    for (const header of [
      'Basic',
      'Basic ',
      'Basic !!!notbase64',
      rawBasic('no-colon-here'),
      rawBasic(':secret-without-id'),
      rawBasic('%zz:secret'),
      rawBasic('id:%E0%A4%A'),
    ]) {
      let error: unknown;
      try {
        presentedCredentials(header, {});
      } catch (thrown) {
        error = thrown;
      }
      assertInvalidClient(error, true);
    }
  });

  test('RFC 6749 §2.3: Basic together with client_secret in the body is invalid_request (one method per request)', () => {
    assert.throws(
      () => presentedCredentials(basicHeader('c1', 's1'), { client_id: 'c1', client_secret: 's1' }),
      (error: unknown) => error instanceof InvalidRequest && error.error === 'invalid_request',
    );
    assert.throws(() => presentedCredentials(basicHeader('c1', 's1'), { client_secret: 'other' }), InvalidRequest);
  });

  test('RFC 6749 §2.3: a body client_id that differs from the Basic one is invalid_request', () => {
    assert.throws(() => presentedCredentials(basicHeader('c1', 's1'), { client_id: 'c2' }), InvalidRequest);
  });

  test('a body client_id equal to the Basic one is accepted', () => {
    assert.equal(presentedCredentials(basicHeader('c1', 's1'), { client_id: 'c1' }).method, 'client_secret_basic');
  });

  test('RFC 6749 §2.3.1: client_id and client_secret in the body give client_secret_post', () => {
    assert.deepEqual(presentedCredentials(undefined, { client_id: 'c1', client_secret: 's1' }), {
      method: 'client_secret_post',
      clientId: 'c1',
      secret: 's1',
    });
  });

  test('RFC 6749 §3.2.1: client_id alone gives method none (a public client)', () => {
    assert.deepEqual(presentedCredentials(undefined, { client_id: 'c1' }), { method: 'none', clientId: 'c1', secret: undefined });
  });

  test('an Authorization header in another scheme is not Basic; the body is used', () => {
    assert.equal(presentedCredentials('Bearer abc', { client_id: 'c1' }).method, 'none');
  });

  test('RFC 6749 §5.2: a request that identifies no client is invalid_client (not flagged as Basic)', () => {
    const cases: Array<Record<string, string>> = [{}, { client_id: '' }, { client_secret: 's1' }];
    for (const params of cases) {
      let error: unknown;
      try {
        presentedCredentials(undefined, params);
      } catch (thrown) {
        error = thrown;
      }
      assertInvalidClient(error, false);
    }
  });
});

describe('authenticateClient (sqlite)', () => {
  const db = useSqliteStore();
  const ALL: ClientAuthMethod[] = ['client_secret_basic', 'client_secret_post', 'none'];
  let confidential: Client;
  let secret: string;
  let publicClient: Client;

  before(async () => {
    ({ client: confidential, secret } = await makeClient(db.store));
    ({ client: publicClient } = await makeClient(db.store, { name: 'Mobile App', isPublic: true }));
  });

  const now = () => Date.now();

  test('RFC 6749 §2.3.1: a confidential client with the right secret, by Basic or in the body, is authenticated', async () => {
    const viaBasic = await authenticateClient(presentedCredentials(basicHeader(confidential.id, secret), {}), ALL, db.store, now());
    assert.equal(viaBasic.id, confidential.id);
    const viaPost = await authenticateClient(
      presentedCredentials(undefined, { client_id: confidential.id, client_secret: secret }),
      ALL,
      db.store,
      now(),
    );
    assert.equal(viaPost.id, confidential.id);
  });

  test('RFC 6749 §5.2: an unknown client and a wrong secret fail with the same error and description', async () => {
    const unknown = await caught(() =>
      authenticateClient({ method: 'client_secret_post', clientId: 'lkc_nobody', secret }, ALL, db.store, now()),
    );
    const wrong = await caught(() =>
      authenticateClient({ method: 'client_secret_post', clientId: confidential.id, secret: `${secret}x` }, ALL, db.store, now()),
    );
    assertInvalidClient(unknown, false);
    assertInvalidClient(wrong, false);
    assert.deepEqual((unknown as InvalidClient).toJSON(), (wrong as InvalidClient).toJSON());
    assert.equal((unknown as InvalidClient).description, (wrong as InvalidClient).description);
    assert.equal((unknown as InvalidClient).message, (wrong as InvalidClient).message);
    assert.notEqual((unknown as InvalidClient).detail, (wrong as InvalidClient).detail);
  });

  test('RFC 6749 §5.2: failures of a Basic attempt are flagged usedBasic', async () => {
    const error = await caught(() =>
      authenticateClient(presentedCredentials(basicHeader(confidential.id, 'wrong'), {}), ALL, db.store, now()),
    );
    assertInvalidClient(error, true);
  });

  test('an empty secret, or the stored hash presented as the secret, is refused', async () => {
    assertInvalidClient(
      await caught(() => authenticateClient({ method: 'client_secret_post', clientId: confidential.id, secret: '' }, ALL, db.store, now())),
      false,
    );
    const [storedHash] = (await db.store.findClientWithSecrets(confidential.id, now()))?.secretHashes ?? [];
    assert.equal(storedHash, hashCredential(secret));
    assertInvalidClient(
      await caught(() =>
        authenticateClient({ method: 'client_secret_post', clientId: confidential.id, secret: storedHash }, ALL, db.store, now()),
      ),
      false,
    );
  });

  test('RFC 6749 §2.1: a public client is identified by client_id alone', async () => {
    const client = await authenticateClient(presentedCredentials(undefined, { client_id: publicClient.id }), ALL, db.store, now());
    assert.equal(client.id, publicClient.id);
    assert.equal(client.isPublic, true);
  });

  test('RFC 6749 §2.1: a public client presenting a secret is refused', async () => {
    assertInvalidClient(
      await caught(() =>
        authenticateClient({ method: 'client_secret_post', clientId: publicClient.id, secret: 'anything' }, ALL, db.store, now()),
      ),
      false,
    );
    assertInvalidClient(
      await caught(() => authenticateClient(presentedCredentials(basicHeader(publicClient.id, 'x'), {}), ALL, db.store, now())),
      true,
    );
  });

  test('RFC 6749 §3.2.1: a confidential client without a secret is refused', async () => {
    assertInvalidClient(
      await caught(() => authenticateClient({ method: 'none', clientId: confidential.id, secret: undefined }, ALL, db.store, now())),
      false,
    );
  });

  test('a method the endpoint does not accept is refused, even with the right secret', async () => {
    const basicOnly: ClientAuthMethod[] = ['client_secret_basic'];
    const viaPost: PresentedCredentials = { method: 'client_secret_post', clientId: confidential.id, secret };
    assertInvalidClient(await caught(() => authenticateClient(viaPost, basicOnly, db.store, now())), false);
    assert.equal((await authenticateClient(viaPost, ['client_secret_post'], db.store, now())).id, confidential.id);
    const publicNone: PresentedCredentials = { method: 'none', clientId: publicClient.id, secret: undefined };
    assertInvalidClient(await caught(() => authenticateClient(publicNone, basicOnly, db.store, now())), false);
  });

  test('after a secret rotation the old secret works until the overlap ends; the new one works throughout', async () => {
    const { client, secret: oldSecret } = await makeClient(db.store, { name: 'Rotating App' });
    const rotatedAt = Date.now();
    const overlapSeconds = 3600;
    const newSecret = await rotateClientSecret(db.store, client.id, overlapSeconds, rotatedAt);
    assert.notEqual(newSecret, oldSecret);
    const expiry = rotatedAt + overlapSeconds * 1000;
    const attempt = (value: string, at: number) =>
      authenticateClient({ method: 'client_secret_post', clientId: client.id, secret: value }, ALL, db.store, at);

    assert.equal((await attempt(oldSecret, rotatedAt + 1000)).id, client.id);
    assert.equal((await attempt(newSecret, rotatedAt + 1000)).id, client.id);
    assert.equal((await attempt(oldSecret, expiry - 1)).id, client.id);
    assertInvalidClient(await caught(() => attempt(oldSecret, expiry)), false);
    assertInvalidClient(await caught(() => attempt(oldSecret, expiry + 60_000)), false);
    assert.equal((await attempt(newSecret, expiry + 60_000)).id, client.id);
  });

  test('the store-level rotation shortens, never extends, an earlier overlap', async () => {
    const { client, secret: first } = await makeClient(db.store, { name: 'Twice Rotated App' });
    const t0 = Date.now();
    await db.store.rotateClientSecret(client.id, hashCredential('second-secret'), t0, t0 + 10_000);
    await db.store.rotateClientSecret(client.id, hashCredential('third-secret'), t0 + 1000, t0 + 5000);
    const attempt = (value: string, at: number) =>
      authenticateClient({ method: 'client_secret_post', clientId: client.id, secret: value }, ALL, db.store, at);
    assert.equal((await attempt(first, t0 + 4000)).id, client.id);
    assertInvalidClient(await caught(() => attempt(first, t0 + 6000)), false);
    assertInvalidClient(await caught(() => attempt('second-secret', t0 + 6000)), false);
    assert.equal((await attempt('third-secret', t0 + 6000)).id, client.id);
  });
});
