/** Redirection URIs (RFC 6749 §3.1.2, RFC 9700 §4.1, RFC 8252 §7). */

const FORBIDDEN_SCHEMES = new Set(['javascript:', 'data:', 'vbscript:', 'file:', 'blob:', 'about:']);

function isLoopbackHost(hostname: string): boolean {
  return hostname === 'localhost' || hostname === '127.0.0.1' || hostname === '[::1]';
}

/** White space, control characters (C0 and DEL) or a backslash. */
function hasForbiddenCharacter(value: string): boolean {
  for (const char of value) {
    const code = char.charCodeAt(0);
    if (code <= 0x20 || code === 0x7f || char === '\\' || /\s/.test(char)) return true;
  }
  return false;
}

/**
 * Checks a redirect URI at registration. Returns a problem description, or
 * undefined when it is acceptable.
 * - RFC 6749 §3.1.2: "The redirection endpoint URI MUST be an absolute URI"
 *   and "MUST NOT include a fragment component".
 * - RFC 9700 §4.1.1 / §2.6: plain http only for loopback (native apps,
 *   RFC 8252 §7.3); private-use schemes (RFC 8252 §7.1) must contain a dot.
 */
export function checkRedirectUriRegistration(value: string): string | undefined {
  // The URL parser forgives what RFC 3986 does not (white space, control
  // characters, backslashes, "https:host"); the stored string must be a URI as is.
  if (hasForbiddenCharacter(value)) return 'A redirect URI must not contain white space, control characters or backslashes.';
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return `"${value}" is not an absolute URI.`;
  }
  if (value.includes('#')) return 'A redirect URI must not contain a fragment.';
  if (FORBIDDEN_SCHEMES.has(url.protocol)) return `The ${url.protocol} scheme is not allowed for redirect URIs.`;
  if (url.username !== '' || url.password !== '') return 'A redirect URI must not contain user information.';
  if ((url.protocol === 'https:' || url.protocol === 'http:') && !value.toLowerCase().startsWith(`${url.protocol}//`)) {
    return `"${value}" is not an absolute URI.`;
  }
  if (url.protocol === 'https:') return undefined;
  if (url.protocol === 'http:') {
    return isLoopbackHost(url.hostname) ? undefined : 'Plain http is only allowed for loopback redirect URIs; use https.';
  }
  // Private-use URI scheme for native apps: reverse domain name, RFC 8252 §7.1.
  return url.protocol.slice(0, -1).includes('.') ? undefined : 'A private-use scheme must be a reverse domain name (RFC 8252 §7.1).';
}

/**
 * RFC 9700 §4.1.3: "the authorization server MUST ensure that the redirect URI
 * ... exactly matches one of the registered redirect URIs" — a simple string
 * comparison, no normalisation, no prefix or pattern matching.
 */
export function isRegisteredRedirectUri(registered: readonly string[], requested: string): boolean {
  return registered.includes(requested);
}
