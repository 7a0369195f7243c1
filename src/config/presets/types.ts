import type { AuthorizeEndpointSettings } from '../../core/authorize.js';
import type { ProtocolSettings, TokenEndpointSettings } from '../../core/settings.js';

export type FormContentType = 'application/x-www-form-urlencoded' | 'multipart/form-data';

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
}
