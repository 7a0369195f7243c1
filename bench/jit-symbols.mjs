#!/usr/bin/env node
// Names the JIT-compiled code in callgrind_annotate's output: callgrind knows
// V8's generated code only by address (`???:0x...`), and a server started with
// --perf-basic-prof writes /tmp/perf-PID.map, one "start size name" line per
// code object. Each address is replaced by the name of the last code object
// logged at it (V8 reuses the addresses of collected code).
//
// Usage: callgrind_annotate --tree=caller callgrind.out.PID.1 | node bench/jit-symbols.mjs /tmp/perf-PID.map
import { readFileSync } from 'node:fs';
import { createInterface } from 'node:readline';

const entries = [];
for (const line of readFileSync(process.argv[2], 'utf8').split('\n')) {
  const [start, size, ...name] = line.split(' ');
  if (name.length > 0) entries.push({ start: Number.parseInt(start, 16), end: Number.parseInt(start, 16) + Number.parseInt(size, 16), name: name.join(' ') });
}
// By start; among code objects at the same start, the one logged last wins.
const order = entries.map((entry, index) => ({ ...entry, index })).sort((a, b) => a.start - b.start || a.index - b.index);

function nameAt(address) {
  let low = 0;
  let high = order.length - 1;
  let found = -1;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if (order[middle].start <= address) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  // Code objects do not nest: look back a little for one that covers the address.
  for (let at = found; at >= 0 && at > found - 50; at--) {
    if (order[at].start <= address && address < order[at].end) return order[at].name;
  }
  return undefined;
}

for await (const line of createInterface({ input: process.stdin })) {
  process.stdout.write(`${line.replace(/\?\?\?:0x([0-9a-f]+)/g, (text, hex) => { const name = nameAt(Number.parseInt(hex, 16)); return name ? `JIT:${name}` : text; })}\n`);
}
