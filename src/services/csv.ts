/**
 * CSV (RFC 4180): fields with a comma, quote or line break are quoted, quotes
 * doubled, lines end with CRLF. Text that a spreadsheet would run as a
 * formula (starting with =, +, -, @, tab or carriage return) is prefixed with
 * an apostrophe: account and app names come from users and partners (OWASP,
 * "CSV Injection").
 */
export type Cell = string | number | null | undefined;

const FORMULA = /^[=+\-@\t\r]/;

export function csvCell(value: Cell): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'number') return String(value);
  const text = FORMULA.test(value) ? `'${value}` : value;
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csv(rows: readonly (readonly Cell[])[]): string {
  return rows.map((row) => row.map(csvCell).join(',')).join('\r\n') + '\r\n';
}
