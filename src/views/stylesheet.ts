/**
 * The one stylesheet of the server-rendered pages. No inline styles anywhere
 * (the CSP allows only this file). Text and control borders meet WCAG 2.2 AA
 * contrast (text >= 4.5:1, borders and focus rings >= 3:1); focus is always
 * visible; the layout is one column that fits a 320 px wide screen.
 */
export const STYLESHEET = `
:root {
  --fg: #18202a; --muted: #56616e; --accent: #1f5fbf; --accent-dark: #174a96; --accent-soft: #e8f0fc;
  --danger: #a9221b; --danger-soft: #fdecea; --ok: #1e6b3a; --ok-soft: #e6f4ea;
  --bg: #f3f5f8; --card: #fff; --line: #dde2e9; --control: #76808e; --radius: 10px;
}
* { box-sizing: border-box; }
html { -webkit-text-size-adjust: 100%; }
body { margin: 0; font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); text-underline-offset: 2px; }
a:hover { color: var(--accent-dark); }
:focus-visible { outline: 3px solid var(--accent); outline-offset: 2px; }

.top { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; justify-content: space-between; align-items: center; padding: 0.75rem 1.5rem; background: var(--card); border-bottom: 1px solid var(--line); }
.brand { display: inline-flex; align-items: center; gap: 0.6rem; font-weight: 700; font-size: 1.05rem; }
.logo { width: 32px; height: 32px; object-fit: contain; }
.mark { display: inline-grid; place-items: center; width: 32px; height: 32px; border-radius: 8px; background: var(--accent); color: #fff; font-weight: 700; }
.signout { display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; align-items: center; color: var(--muted); font-size: 0.95rem; }
.who { overflow-wrap: anywhere; }

.card { max-width: 27rem; margin: 2.5rem auto; padding: 2rem; background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); box-shadow: 0 1px 3px rgba(16, 24, 40, 0.06); }
.card.wide { max-width: 44rem; }
h1 { font-size: 1.5rem; line-height: 1.25; margin: 0 0 0.5rem; }
h2 { font-size: 1.1rem; margin: 1.75rem 0 0.5rem; }
h3 { font-size: 1rem; margin: 0; }
p { margin: 0.5rem 0; }
.lead { color: var(--muted); margin-bottom: 1.25rem; }
.muted { color: var(--muted); }
.small { font-size: 0.9rem; }
.kind { color: var(--muted); font-weight: 400; }
code { font: 0.85em ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; color: var(--muted); }

form { margin: 0; }
.field { margin-top: 1rem; }
.row { display: grid; grid-template-columns: 1fr 1fr; gap: 0 0.75rem; }
label { display: block; margin-bottom: 0.3rem; font-weight: 600; }
input[type=email], input[type=password], input[type=text] { display: block; width: 100%; min-height: 2.75rem; padding: 0.55rem 0.7rem; border: 1px solid var(--control); border-radius: 6px; font: inherit; color: inherit; background: #fff; }
input[aria-invalid=true] { border-color: var(--danger); box-shadow: 0 0 0 1px var(--danger); }
input:focus-visible { outline: 3px solid var(--accent); outline-offset: 0; border-color: var(--accent); }
.hint { margin: 0.3rem 0 0; font-size: 0.9rem; color: var(--muted); }
.field-error { margin: 0.3rem 0 0; font-size: 0.9rem; color: var(--danger); font-weight: 600; }

button { min-height: 2.75rem; padding: 0.6rem 1.25rem; border: 1px solid var(--accent); border-radius: 6px; font: inherit; font-weight: 600; cursor: pointer; background: var(--accent); color: #fff; }
button:hover { background: var(--accent-dark); border-color: var(--accent-dark); }
main form > button[type=submit] { display: block; width: 100%; margin-top: 1.5rem; }
button.secondary { background: #fff; color: var(--fg); border-color: var(--control); }
button.secondary:hover { background: var(--bg); }
button.danger { background: #fff; color: var(--danger); border-color: var(--danger); min-height: 2.5rem; padding: 0.4rem 1rem; }
button.danger:hover { background: var(--danger-soft); }
button.link { min-height: 0; margin: 0; padding: 0.25rem 0; border: 0; background: none; color: var(--accent); font-weight: 600; text-decoration: underline; text-underline-offset: 2px; }
button.link:hover { background: none; color: var(--accent-dark); }
.actions { display: flex; flex-wrap: wrap; gap: 0.75rem; margin-top: 1.5rem; }
.actions button { flex: 1 1 8rem; }
.alt { margin-top: 1.5rem; padding-top: 1.25rem; border-top: 1px solid var(--line); text-align: center; color: var(--muted); }

.error { margin: 1rem 0; padding: 0.7rem 0.9rem; border-radius: 6px; background: var(--danger-soft); color: var(--danger); border-left: 4px solid var(--danger); }
.notice { margin: 1rem 0; padding: 0.7rem 0.9rem; border-radius: 6px; background: var(--ok-soft); color: var(--ok); border-left: 4px solid var(--ok); }

fieldset { margin: 0; padding: 0; border: 0; }
legend { padding: 0; margin-bottom: 0.5rem; font-weight: 600; }
.choice { position: relative; margin-top: 0.6rem; }
.choice input { position: absolute; left: 1rem; top: 50%; width: 1.15rem; height: 1.15rem; margin: -0.575rem 0 0; accent-color: var(--accent); }
.choice label { margin: 0; padding: 0.85rem 1rem 0.85rem 2.9rem; border: 1px solid var(--control); border-radius: 8px; cursor: pointer; }
.choice input:checked + label { border-color: var(--accent); box-shadow: 0 0 0 1px var(--accent); background: var(--accent-soft); }
.choice input:focus-visible + label { outline: 3px solid var(--accent); outline-offset: 2px; }

.facts { display: grid; grid-template-columns: max-content 1fr; gap: 0.35rem 1rem; margin: 1rem 0; padding: 0.9rem 1rem; background: var(--bg); border-radius: 8px; }
.facts dt { color: var(--muted); }
.facts dd { margin: 0; font-weight: 600; overflow-wrap: anywhere; }
ul.scopes { list-style: none; margin: 0.5rem 0; padding: 0; }
ul.scopes li { position: relative; padding: 0.45rem 0 0.45rem 1.75rem; border-bottom: 1px solid var(--line); }
ul.scopes li:last-child { border-bottom: 0; }
ul.scopes li::before { content: "\\2713"; position: absolute; left: 0.25rem; color: var(--accent); font-weight: 700; }
ul.scopes code { display: block; }

ul.apps { list-style: none; margin: 0; padding: 0; }
.app { display: grid; grid-template-columns: 1fr auto; gap: 0.25rem 1rem; align-items: start; padding: 1rem 0; border-top: 1px solid var(--line); }
.app .meta { margin: 0.15rem 0 0; font-size: 0.9rem; color: var(--muted); }
.app ul.scopes { grid-column: 1 / -1; font-size: 0.95rem; }
.app form { grid-row: 1; grid-column: 2; }
.empty { color: var(--muted); padding: 0.75rem 0; border-top: 1px solid var(--line); }
.visually-hidden { position: absolute; width: 1px; height: 1px; padding: 0; margin: -1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; border: 0; }

/* The admin console (/admin): a full-width panel with the sections in the header. */
.admin-nav ul { display: flex; flex-wrap: wrap; gap: 0.25rem 1.1rem; list-style: none; margin: 0; padding: 0; }
.admin-nav a { display: inline-block; padding: 0.3rem 0; border-bottom: 3px solid transparent; color: var(--muted); font-weight: 600; text-decoration: none; }
.admin-nav a:hover { color: var(--fg); }
.admin-nav a[aria-current=page] { color: var(--accent); border-bottom-color: var(--accent); }
main.admin { max-width: 72rem; margin: 1.5rem auto 3rem; padding: 0 1.5rem; }
.admin section { margin-top: 2rem; }
.admin .panel { margin-top: 2rem; padding: 1.25rem 1.5rem; background: var(--card); border: 1px solid var(--line); border-radius: var(--radius); }
.admin .danger-panel { border-color: var(--danger); }
.admin .panel h2 { margin-top: 0; }
.title-row { display: flex; flex-wrap: wrap; align-items: center; justify-content: space-between; gap: 0.75rem; }
.title-actions { display: flex; flex-wrap: wrap; gap: 0.5rem; }
.crumbs { margin: 0; font-size: 0.9rem; color: var(--muted); }
.count { color: var(--muted); font-weight: 400; font-size: 0.95rem; }
a.button { display: inline-flex; align-items: center; justify-content: center; min-height: 2.75rem; padding: 0.6rem 1.25rem; border: 1px solid var(--accent); border-radius: 6px; background: var(--accent); color: #fff; font-weight: 600; text-decoration: none; }
a.button:hover { background: var(--accent-dark); border-color: var(--accent-dark); color: #fff; }
a.button.secondary { background: #fff; color: var(--fg); border-color: var(--control); }
a.button.secondary:hover { background: var(--bg); color: var(--fg); }
a.button.danger { background: #fff; color: var(--danger); border-color: var(--danger); }
a.button.danger:hover { background: var(--danger-soft); }
a.danger-link { color: var(--danger); }
.admin form > button[type=submit] { display: inline-block; width: auto; margin-top: 0; }
.admin .actions button, .admin .actions .button { flex: 0 0 auto; }
button.small { min-height: 2.25rem; padding: 0.3rem 0.8rem; font-size: 0.9rem; }
form.inline { display: inline; }
.admin-form { max-width: 44rem; }
.toolbar { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 0.75rem 1rem; margin: 1rem 0; }
.toolbar .field { flex: 1 1 12rem; max-width: 22rem; margin-top: 0; }
.admin input[type=search], .admin input[type=number], .admin input[type=month], .admin input[type=date], .admin select, .admin textarea { display: block; width: 100%; min-height: 2.75rem; padding: 0.55rem 0.7rem; border: 1px solid var(--control); border-radius: 6px; font: inherit; color: inherit; background: #fff; }
.admin textarea { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.95rem; resize: vertical; }
select[aria-invalid=true], textarea[aria-invalid=true] { border-color: var(--danger); box-shadow: 0 0 0 1px var(--danger); }
.group { margin-top: 1.25rem; }
.checks { display: grid; gap: 0.45rem; }
.check { display: grid; grid-template-columns: auto 1fr; gap: 0 0.6rem; align-items: start; }
.check input { width: 1.15rem; height: 1.15rem; margin: 0.2rem 0 0; accent-color: var(--accent); }
.check label { margin: 0; font-weight: 400; }
.check .hint { grid-column: 2; margin-top: 0; }
.admin-form > .check { margin-top: 1rem; }
.label-like { margin: 0 0 0.3rem; font-weight: 600; }
.table-wrap { overflow-x: auto; margin: 0.75rem 0; background: var(--card); border: 1px solid var(--line); border-radius: 8px; }
.table { width: 100%; border-collapse: collapse; font-size: 0.95rem; }
.table th, .table td { padding: 0.6rem 0.75rem; text-align: left; vertical-align: top; border-bottom: 1px solid var(--line); }
.table thead th { background: var(--bg); color: var(--muted); font-size: 0.85rem; white-space: nowrap; }
.table tbody tr:last-child th, .table tbody tr:last-child td { border-bottom: 0; }
.table.numbers td { text-align: right; font-variant-numeric: tabular-nums; }
.table tfoot th, .table tfoot td { border-top: 2px solid var(--line); border-bottom: 0; font-weight: 700; }
.table code { white-space: nowrap; }
.admin .facts { background: var(--card); border: 1px solid var(--line); }
.inline-form { display: flex; flex-wrap: wrap; align-items: flex-end; gap: 0.75rem 1rem; }
.inline-form .field { flex: 0 1 20rem; margin-top: 0; }
.row-actions { white-space: nowrap; }
.table.audit td:first-child { white-space: nowrap; }
.table.audit td:last-child { min-width: 14rem; overflow-wrap: anywhere; }
.row-actions > * + * { margin-left: 0.75rem; }
.badge { display: inline-block; padding: 0 0.5rem; border: 1px solid var(--line); border-radius: 999px; background: var(--bg); color: var(--fg); font-size: 0.8rem; font-weight: 600; }
.badge-warn { background: #fff4e0; color: #6b4100; border-color: #c98a1a; }
.badge-danger { background: var(--danger-soft); color: var(--danger); border-color: var(--danger); }
.badge-ok { background: var(--ok-soft); color: var(--ok); border-color: var(--ok); }
.pager { display: flex; flex-wrap: wrap; gap: 1rem; align-items: center; margin: 1rem 0; color: var(--muted); }
ul.plain { list-style: none; margin: 0; padding: 0; }
.once { margin: 1rem 0; }
.once-label { margin: 0 0 0.3rem; font-weight: 600; }
.once-value { display: flex; flex-wrap: wrap; gap: 0.5rem; align-items: center; }
.once-value code { display: block; flex: 1 1 20rem; padding: 0.7rem 0.9rem; background: #fff; border: 1px solid var(--control); border-radius: 6px; color: var(--fg); font-size: 0.95rem; overflow-wrap: anywhere; user-select: all; }
.copy-status { font-size: 0.9rem; color: var(--ok); }
.warning { margin: 1rem 0; padding: 0.7rem 0.9rem; border-left: 4px solid #b36b00; border-radius: 6px; background: #fff4e0; color: #5c3800; }
@media (max-width: 720px) {
  main.admin { margin-top: 1rem; padding: 0 1rem; }
  .toolbar .field { max-width: none; }
}

@media (max-width: 480px) {
  .top { padding: 0.6rem 1rem; }
  .card { margin: 0; padding: 1.25rem 1rem 2rem; border: 0; border-radius: 0; box-shadow: none; }
  .row { grid-template-columns: 1fr; }
  .app { grid-template-columns: 1fr; }
  .app form { grid-row: auto; grid-column: 1; margin-top: 0.5rem; }
  .facts { grid-template-columns: 1fr; gap: 0 0; }
  .facts dd { margin-bottom: 0.4rem; }
}
.confirm { display: flex; gap: 0.5rem; align-items: flex-start; }
.confirm label { display: inline; margin: 0; font-weight: 400; }
`;
