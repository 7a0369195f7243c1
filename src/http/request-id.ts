/**
 * Request ids: random version-4 UUIDs (RFC 9562 §5.4), as crypto.randomUUID
 * makes them, written 256 at a time into one flat string.
 *
 * randomUUID joins twenty pieces with `+`, and V8 keeps the result as a tree of
 * them until something reads it whole. The first to do so is Node's check of
 * the x-request-id header's value, a regular expression, which V8 cannot run
 * on such a tree without a call into its runtime: with randomUUID's own work,
 * about 3,900 instructions of every request (ANALYSIS.md, nineteenth pass).
 * Here a refill writes 256 ids' characters into a buffer and reads them out
 * as one string; each id is a slice of it, which V8 keeps as a view of that
 * string, flat as the regular expression needs it. Turning the buffer into a
 * string once per id was a call into Node's C++ of about 840 instructions of
 * every request (twenty-sixth pass).
 */
import { randomFillSync } from 'node:crypto';

/** Ids drawn per call into the CSPRNG. */
const IDS_PER_FILL = 256;
const ID_LENGTH = 36;
const random = Buffer.alloc(16 * IDS_PER_FILL);
/** xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx, 256 times: the dashes never move, only the digits are written. */
const text = Buffer.from('00000000-0000-0000-0000-000000000000'.repeat(IDS_PER_FILL), 'latin1');
let ids = '';
let next = IDS_PER_FILL;

const DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;

function refill(): void {
  randomFillSync(random);
  let at = 0;
  for (let index = 0; index < random.length; index++) {
    if (text[at] === DASH) at++;
    let byte = random[index] as number;
    // The version (4) in the high nibble of byte 6; the variant (binary 10) in the high bits of byte 8.
    const ofId = index & 15;
    if (ofId === 6) byte = (byte & 0x0f) | 0x40;
    else if (ofId === 8) byte = (byte & 0x3f) | 0x80;
    text[at++] = DIGITS[byte >> 4] as number;
    text[at++] = DIGITS[byte & 0x0f] as number;
  }
  ids = text.toString('latin1');
  next = 0;
}

export function newRequestId(): string {
  if (next === IDS_PER_FILL) refill();
  const start = ID_LENGTH * next++;
  return ids.slice(start, start + ID_LENGTH);
}
