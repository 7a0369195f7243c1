import type { AuthorizeEndpointSettings } from '../../core/authorize.js';
import type { ResourcePolicy } from '../../core/bearer.js';
import type { Scope } from '../../core/model.js';
import type { ProtocolSettings, TokenEndpointSettings } from '../../core/settings.js';

export type FormContentType = 'application/x-www-form-urlencoded' | 'multipart/form-data' | 'application/json';

export interface AuthorizeEndpointPreset extends AuthorizeEndpointSettings {
  path: string;
  /** Extra query parameters carried through the flow (e.g. Go1's partner_portal_id). */
  extensionParams: string[];
}

export interface TokenEndpointPreset extends TokenEndpointSettings {
  path: string;
  methods: Array<'POST' | 'GET'>;
  contentTypes: FormContentType[];
  /** Whether parameters may come in the query string (legacy APIs). */
  queryParams: boolean;
}

/** A named configuration that shapes the wire API. Data only: no behaviour. */
export interface Preset {
  name: string;
  description: string;
  protocol: Omit<ProtocolSettings, 'issuer'>;
  authorizeEndpoints: AuthorizeEndpointPreset[];
  tokenEndpoints: TokenEndpointPreset[];
  /**
   * How clients present access tokens to the platform's API (the resource guard):
   * Authorization schemes ('bearer', RFC 6750 §2.1; 'token', GoCD's
   * `Authorization: Token token="..."`), and whether the RFC 6750 §2.2 form-body
   * and §2.3 query forms are accepted.
   */
  resource: ResourcePolicy;
  /** Scopes the document names, registered at start-up when missing. */
  scopes: Scope[];
  /** Sample protected resources the document shows (each answers like /api/me). */
  sampleResources: string[];
  /** 401GO's "connection success" confirmation endpoint, if the preset has one. */
  connectionSuccessPath?: string;
  /** How consent is asked: Allow/Deny buttons, or GoCD's "check the check box and submit". */
  consentStyle: 'buttons' | 'checkbox';
}
