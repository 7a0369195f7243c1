import { html, type SafeHtml } from './html.js';

/** The platform's name and logo (settings brandName, brandLogoUrl). */
export interface Brand {
  name: string;
  logoUrl?: string | undefined;
}

export const DEFAULT_BRAND: Brand = { name: 'Latchkey' };

export interface PageOptions {
  brand?: Brand | undefined;
  /** The signed-in user's email; with csrfToken, the header offers "Sign out". */
  signedInAs?: string | undefined;
  csrfToken?: string | undefined;
  /** A wider card, for lists (connected apps). */
  wide?: boolean;
  /** Navigation in the header, after the brand (the admin console's sections). */
  nav?: SafeHtml | undefined;
  /** The class of <main> instead of the card (the admin console's full-width panel). */
  mainClass?: string | undefined;
  /** Scripts from /assets, loaded deferred (the admin console's progressive enhancements; the CSP allows them there only). */
  scripts?: readonly string[] | undefined;
}

function brandMark(brand: Brand): SafeHtml {
  // The name follows as text, so the logo is decorative (alt="").
  return brand.logoUrl
    ? html`<img class="logo" src="${brand.logoUrl}" alt="" width="32" height="32">`
    : html`<span class="mark" aria-hidden="true">${[...brand.name][0]?.toUpperCase() ?? ''}</span>`;
}

export function page(title: string, body: SafeHtml, options: PageOptions = {}): string {
  const brand = options.brand ?? DEFAULT_BRAND;
  const account =
    options.signedInAs && options.csrfToken
      ? html`<form class="signout" method="post" action="/logout">
    <span class="who">${options.signedInAs}</span>
    <input type="hidden" name="csrf_token" value="${options.csrfToken}">
    <button type="submit" class="link">Sign out</button>
  </form>`
      : '';
  return html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="referrer" content="no-referrer">
<meta name="color-scheme" content="light">
<title>${title} · ${brand.name}</title>
<link rel="stylesheet" href="/assets/latchkey.css">
${(options.scripts ?? []).map((src) => html`<script src="${src}" defer></script>
`)}</head>
<body>
<header class="top">
  <span class="brand">${brandMark(brand)}<span class="brand-name">${brand.name}</span></span>
  ${options.nav ?? ''}
  ${account}
</header>
<main id="main" class="${options.mainClass ?? (options.wide ? 'card wide' : 'card')}">
${body}
</main>
</body>
</html>
`.value;
}
