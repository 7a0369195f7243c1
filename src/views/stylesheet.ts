/** The one stylesheet of the server-rendered pages. */
export const STYLESHEET = `
:root { --fg: #1d232b; --muted: #5b6672; --accent: #1f5fbf; --danger: #b3261e; --bg: #f5f7fa; --card: #fff; --line: #d9dee5; }
* { box-sizing: border-box; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; color: var(--fg); background: var(--bg); }
.top { display: flex; justify-content: space-between; align-items: center; padding: 0.75rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--line); }
.brand { font-weight: 700; letter-spacing: 0.02em; }
.signout { display: flex; gap: 0.75rem; align-items: center; color: var(--muted); }
main { max-width: 28rem; margin: 3rem auto; padding: 2rem; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
h1 { font-size: 1.4rem; margin: 0 0 1rem; }
label { display: block; margin: 0.75rem 0 0.25rem; font-weight: 600; }
input[type=email], input[type=password], input[type=text] { width: 100%; padding: 0.55rem 0.65rem; border: 1px solid var(--line); border-radius: 6px; font: inherit; }
input:focus, button:focus { outline: 2px solid var(--accent); outline-offset: 1px; }
button { margin-top: 1.25rem; padding: 0.6rem 1.2rem; border: 0; border-radius: 6px; font: inherit; font-weight: 600; cursor: pointer; background: var(--accent); color: #fff; }
button.secondary { background: #e6e9ee; color: var(--fg); }
button.link { margin: 0; padding: 0; background: none; color: var(--accent); font-weight: 400; }
.actions { display: flex; gap: 0.75rem; }
.error { padding: 0.6rem 0.8rem; border-radius: 6px; background: #fdecea; color: var(--danger); }
.muted { color: var(--muted); }
ul.scopes { padding-left: 1.2rem; }
ul.scopes code { font-size: 0.9em; color: var(--muted); }
`;
