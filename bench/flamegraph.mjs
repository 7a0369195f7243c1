#!/usr/bin/env node
// A flame graph of V8 CPU profiles (node --cpu-prof), as a self-contained SVG:
// each box is a function, as wide as the CPU time spent in it and in what it
// called, stacked on its caller; hover for the figures. Idle time is left out.
// Several profiles are merged. `--folded` prints the stacks in the folded
// format instead ("root;caller;callee µs" per line: flamegraph.pl, speedscope).
//
// Usage: node bench/flamegraph.mjs [--folded] [--min-percent 0.2] [--title T] FILE.cpuprofile... > out.svg
import { parseArgs } from 'node:util';
import { readProfile } from './cpuprofile.mjs';

const { values: flags, positionals: files } = parseArgs({
  allowPositionals: true,
  options: {
    folded: { type: 'boolean', default: false },
    'min-percent': { type: 'string', default: '0.2' },
    title: { type: 'string', default: 'CPU flame graph' },
  },
});
if (files.length === 0) {
  process.stderr.write('usage: node bench/flamegraph.mjs [--folded] [--min-percent P] [--title T] FILE.cpuprofile... > out.svg\n');
  process.exit(2);
}

/** Merged call tree: children keyed by frame label, so the same path from several profiles adds up. */
const root = { label: 'all', micros: 0, children: new Map() };
const folded = new Map();
for (const file of files) {
  const { selfMicros, stackOf } = readProfile(file);
  for (const [id, micros] of selfMicros) {
    const stack = stackOf(id).slice(1); // the profile's own "(root)"
    const key = stack.join(';');
    folded.set(key, (folded.get(key) ?? 0) + micros);
    let node = root;
    node.micros += micros;
    for (const label of stack) {
      let child = node.children.get(label);
      if (child === undefined) {
        child = { label, micros: 0, children: new Map() };
        node.children.set(label, child);
      }
      child.micros += micros;
      node = child;
    }
  }
}

if (flags.folded) {
  for (const [stack, micros] of folded) process.stdout.write(`${stack} ${Math.round(micros)}\n`);
  process.exit(0);
}

const WIDTH = 1600;
const ROW = 17;
const PAD = 10;
const TOP = 44;
const minMicros = (root.micros * Number(flags['min-percent'])) / 100;

const escapeXml = (text) => text.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

/** Warm colours for Latchkey's code, others by where the code lives, so a glance shows whose time it is. */
function colour(label) {
  const place = label.split(' ')[1] ?? '';
  let hash = 0;
  for (const c of label) hash = (hash * 31 + c.charCodeAt(0)) >>> 0;
  const vary = hash % 30;
  if (place.startsWith('src/') || place.startsWith('dist/')) return `hsl(${15 + vary / 2},85%,${58 + (vary % 10)}%)`;
  if (place.startsWith('node:')) return `hsl(${200 + vary},55%,${70 + (vary % 10)}%)`;
  if (place.startsWith('(native)')) return `hsl(0,0%,${72 + (vary % 12)}%)`;
  return `hsl(${45 + vary},80%,${60 + (vary % 10)}%)`;
}

const boxes = [];
let depthMax = 0;
function layout(node, x, depth) {
  depthMax = Math.max(depthMax, depth);
  boxes.push({ node, x, depth });
  let at = x;
  for (const child of [...node.children.values()].sort((a, b) => a.label.localeCompare(b.label))) {
    if (child.micros < minMicros) continue;
    layout(child, at, depth + 1);
    at += child.micros;
  }
}
layout(root, 0, 0);

const scale = (WIDTH - 2 * PAD) / root.micros;
const height = TOP + (depthMax + 1) * ROW + PAD;
const out = [
  `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="monospace" font-size="11">`,
  `<title>${escapeXml(flags.title)}</title>`,
  `<rect width="100%" height="100%" fill="#fdfdf8"/>`,
  `<text x="${PAD}" y="20" font-size="15">${escapeXml(flags.title)}</text>`,
  `<text x="${PAD}" y="36" fill="#555">CPU time ${(root.micros / 1e6).toFixed(2)} s (idle left out); boxes under ${flags['min-percent']}% hidden; orange: Latchkey, yellow: packages, blue: Node.js, grey: native</text>`,
];
for (const { node, x, depth } of boxes) {
  const left = PAD + x * scale;
  const width = node.micros * scale;
  const y = height - PAD - (depth + 1) * ROW;
  const percent = ((node.micros / root.micros) * 100).toFixed(2);
  const title = `${node.label}: ${(node.micros / 1000).toFixed(1)} ms, ${percent}%`;
  const chars = Math.floor((width - 4) / 6.6);
  const text = chars >= 3 ? (node.label.length <= chars ? node.label : `${node.label.slice(0, chars - 1)}…`) : '';
  out.push(
    `<g><title>${escapeXml(title)}</title><rect x="${left.toFixed(2)}" y="${y}" width="${Math.max(width - 0.5, 0.5).toFixed(2)}" height="${ROW - 1}" fill="${depth === 0 ? '#ddd' : colour(node.label)}" rx="2"/>` +
      (text ? `<text x="${(left + 3).toFixed(2)}" y="${y + ROW - 5}">${escapeXml(text)}</text>` : '') +
      '</g>',
  );
}
out.push('</svg>');
process.stdout.write(`${out.join('\n')}\n`);
