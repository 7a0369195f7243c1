import { html, type SafeHtml } from './html.js';

export function page(title: string, body: SafeHtml, options: { signedInAs?: string; csrfToken?: string } = {}): string {
  const header =
    options.signedInAs && options.csrfToken
      ? html`<form class="signout" method="post" action="/logout">
          <span>${options.signedInAs}</span>
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
<title>${title} · Latchkey</title>
<link rel="stylesheet" href="/assets/latchkey.css">
</head>
<body>
<header class="top"><span class="brand">Latchkey</span>${header}</header>
<main>
${body}
</main>
</body>
</html>
`.value;
}
