/**
 * Request ids: random version-4 UUIDs (RFC 9562 §5.4), as crypto.randomUUID
 * makes them, written into one flat string.
 *
 * randomUUID joins twenty pieces with `+`, and V8 keeps the result as a tree of
 * them until something reads it whole. The first to do so is Node's check of
 * the x-request-id header's value, a regular expression, which V8 cannot run
 * on such a tree without a call into its runtime: with randomUUID's own work,
 * about 3,900 instructions of every request. Here the 36 characters are
 * written into a buffer and read out as one string: some 1,200 instructions
 * fewer per request (ANALYSIS.md, nineteenth pass).
 */
import { randomFillSync } from 'node:crypto';

/** Ids drawn per call into the CSPRNG. */
const IDS_PER_FILL = 256;
const random = Buffer.alloc(16 * IDS_PER_FILL);
let next = IDS_PER_FILL;

const DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;
/** xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx: the dashes never move, only the digits are written. */
const text = Buffer.from('00000000-0000-0000-0000-000000000000', 'latin1');

export function newRequestId(): string {
  if (next === IDS_PER_FILL) {
    randomFillSync(random);
    next = 0;
  }
  const offset = 16 * next++;
  let at = 0;
  for (let index = 0; index < 16; index++) {
    if (text[at] === DASH) at++;
    let byte = random[offset + index] as number;
    // The version (4) in the high nibble of byte 6; the variant (binary 10) in the high bits of byte 8.
    if (index === 6) byte = (byte & 0x0f) | 0x40;
    else if (index === 8) byte = (byte & 0x3f) | 0x80;
    text[at++] = DIGITS[byte >> 4] as number;
    text[at++] = DIGITS[byte & 0x0f] as number;
  }
  return text.toString('latin1');
}
