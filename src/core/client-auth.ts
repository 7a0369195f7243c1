/** Client authentication at the token endpoint (RFC 6749 §2.3). */
import { InvalidClient, InvalidRequest } from './errors.js';
import { decodeFormComponent } from './form-component.js';
import type { Client, ClientAuthMethod } from './model.js';
import type { ClientLookup } from './ports.js';
import { hashCredential, hashesEqual } from './secrets.js';

export interface PresentedCredentials {
  method: ClientAuthMethod;
  clientId: string;
  secret: string | undefined;
}

function parseBasic(header: string): { clientId: string; secret: string } {
  const match = /^Basic ([A-Za-z0-9+/]+={0,2})$/i.exec(header.trim());
  if (!match?.[1]) throw new InvalidClient('malformed Basic authorization header', true);
  const decoded = Buffer.from(match[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon <= 0) throw new InvalidClient('Basic credentials without client id or colon', true);
  // RFC 6749 §2.3.1: id and secret are form-urlencoded before being base64-encoded.
  try {
    const clientId = decodeFormComponent(decoded.slice(0, colon));
    // No client id contains NUL, and PostgreSQL cannot compare text with one (a 500 before this check).
    if (clientId.includes('\u0000')) throw new InvalidClient('Basic client id with a NUL character', true);
    return { clientId, secret: decodeFormComponent(decoded.slice(colon + 1)) };
  } catch (error) {
    if (error instanceof InvalidClient) throw error;
    throw new InvalidClient('Basic credentials are not form-encoded', true);
  }
}

/**
 * Reads which credentials the request presents, without checking them.
 * RFC 6749 §2.3: "The client MUST NOT use more than one authentication method in each request."
 */
export function presentedCredentials(
  authorization: string | undefined,
  params: Readonly<Record<string, string>>,
): PresentedCredentials {
  const bodyId = params.client_id;
  const bodySecret = params.client_secret;
  if (authorization !== undefined && /^basic\b/i.test(authorization)) {
    const basic = parseBasic(authorization);
    if (bodySecret !== undefined) {
      throw new InvalidRequest('The client authenticated with more than one method.', 'Basic and client_secret in body');
    }
    if (bodyId !== undefined && bodyId !== basic.clientId) {
      throw new InvalidRequest('client_id does not match the Authorization header.');
    }
    return { method: 'client_secret_basic', clientId: basic.clientId, secret: basic.secret };
  }
  if (bodyId === undefined || bodyId === '') {
    throw new InvalidClient('no client identification in the request');
  }
  if (bodySecret !== undefined) return { method: 'client_secret_post', clientId: bodyId, secret: bodySecret };
  return { method: 'none', clientId: bodyId, secret: undefined };
}

/**
 * Authenticates the presented credentials. Unknown clients and wrong secrets
 * fail with the same error, and a secret is hashed either way.
 */
export async function authenticateClient(
  presented: PresentedCredentials,
  allowedMethods: readonly ClientAuthMethod[],
  store: Pick<ClientLookup, 'findClientWithSecrets'>,
  now: number,
  options: { identificationOnly?: boolean | undefined } = {},
): Promise<Client> {
  const usedBasic = presented.method === 'client_secret_basic';
  const presentedHash = presented.secret === undefined ? undefined : hashCredential(presented.secret);
  const found = await store.findClientWithSecrets(presented.clientId, now);
  if (!found) throw new InvalidClient('unknown client', usedBasic);
  const { client, secretHashes } = found;
  if (!allowedMethods.includes(presented.method)) {
    throw new InvalidClient(`auth method ${presented.method} is not accepted on this endpoint`, usedBasic);
  }
  if (client.isPublic) {
    if (presented.method !== 'none') throw new InvalidClient('public client presented a secret', usedBasic);
    return client;
  }
  if (presentedHash === undefined) {
    if (options.identificationOnly) return client;
    throw new InvalidClient('confidential client sent no secret', usedBasic);
  }
  let matched = false;
  for (const hash of secretHashes) matched = hashesEqual(hash, presentedHash) || matched;
  if (!matched) throw new InvalidClient('wrong client secret', usedBasic);
  return client;
}
