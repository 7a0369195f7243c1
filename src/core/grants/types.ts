import type { LoginThrottle } from '../lockout.js';
import type { Client } from '../model.js';
import type { ProtocolStore } from '../ports.js';
import type { ProtocolSettings, TokenEndpointSettings } from '../settings.js';
import type { IssuedTokens } from '../tokens.js';

export interface TokenRequestContext {
  /** The request's parameters, each present at most once. */
  params: Readonly<Record<string, string>>;
  /** The authenticated client. */
  client: Client;
  store: ProtocolStore;
  settings: ProtocolSettings;
  endpoint: TokenEndpointSettings;
  now: number;
  /** Counts password attempts against the same lockout as the sign-in page (RFC 6749 §10.10). */
  throttle?: LoginThrottle | undefined;
  /** When the throttle's counters cannot be reached: refuse (closed, the default) or check without it (open). */
  whenThrottleDown?: 'closed' | 'open' | undefined;
  /** The requester's address, for the per-IP lockout. */
  ip?: string | null | undefined;
}

/** One grant type: its parameters and its handler (RFC 6749 §4, §6). */
export interface GrantHandler {
  /** Canonical grant_type value. */
  readonly type: string;
  /** Whether this client may use the grant; by default, when its grant types list it. */
  allows?(client: Client): boolean;
  handle(context: TokenRequestContext): Promise<IssuedTokens>;
}
