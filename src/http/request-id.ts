/**
 * Request ids: random version-4 UUIDs (RFC 9562 §5.4), as crypto.randomUUID
 * makes them, read out 256 at a time as one flat string.
 *
 * randomUUID joins twenty pieces with `+`, and V8 keeps the result as a tree of
 * them until something reads it whole. The first to do so is Node's check of
 * the x-request-id header's value, a regular expression, which V8 cannot run
 * on such a tree without a call into its runtime: with randomUUID's own work,
 * about 3,900 instructions of every request (ANALYSIS.md, nineteenth pass).
 * Here each id's characters are written into a buffer of 256, and the buffer
 * is read out as one string once it is full; each id is a slice of that
 * string, which V8 keeps as a view of it, flat as the regular expression needs
 * it. Reading out the buffer once per id was a call into Node's C++ of about
 * 840 instructions of every request (twenty-sixth pass). The digits are
 * written on the request path, one id per request, a batch ahead of the ids
 * handed out: a loop over a whole batch at once runs too seldom for V8 to
 * optimize it (callgrind found it at 1,500 instructions an id, against 900).
 */
import { randomFillSync } from 'node:crypto';

/** Ids drawn per call into the CSPRNG, and read out of the buffer at once. */
const IDS_PER_FILL = 256;
const ID_LENGTH = 36;
const random = Buffer.alloc(16 * IDS_PER_FILL);
/** xxxxxxxx-xxxx-4xxx-Nxxx-xxxxxxxxxxxx, 256 times: the dashes never move, only the digits are written. */
const text = Buffer.from('00000000-0000-0000-0000-000000000000'.repeat(IDS_PER_FILL), 'latin1');
const DIGITS = Buffer.from('0123456789abcdef', 'latin1');
const DASH = 0x2d;

/** Writes the id of `slot` into `text`, from its 16 bytes of `random`. */
function writeId(slot: number): void {
  const offset = 16 * slot;
  let at = ID_LENGTH * slot;
  for (let index = 0; index < 16; index++) {
    if (text[at] === DASH) at++;
    let byte = random[offset + index] as number;
    // The version (4) in the high nibble of byte 6; the variant (binary 10) in the high bits of byte 8.
    if (index === 6) byte = (byte & 0x0f) | 0x40;
    else if (index === 8) byte = (byte & 0x3f) | 0x80;
    text[at++] = DIGITS[byte >> 4] as number;
    text[at++] = DIGITS[byte & 0x0f] as number;
  }
}

/** The batch being handed out, read out of `text`; `text` meanwhile fills with the next. */
let ids = '';
let next = IDS_PER_FILL;
randomFillSync(random);
for (let slot = 0; slot < IDS_PER_FILL; slot++) writeId(slot);

export function newRequestId(): string {
  if (next === IDS_PER_FILL) {
    ids = text.toString('latin1');
    randomFillSync(random);
    next = 0;
  }
  const slot = next++;
  // This slot's id of the next batch: `ids` holds the slot's id of this one.
  writeId(slot);
  const start = ID_LENGTH * slot;
  return ids.slice(start, start + ID_LENGTH);
}
