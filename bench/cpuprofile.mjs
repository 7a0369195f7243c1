// Reading V8 CPU profiles (node --cpu-prof): what bench/profile.mjs and
// bench/flamegraph.mjs share.
import { readFileSync } from 'node:fs';

/**
 * Where a frame's code lives: a package, a file of the project (dist/ when the
 * server runs compiled, as the benchmark runs it), a node: module, or (native).
 */
export function where(url) {
  if (!url) return '(native)';
  const modules = url.lastIndexOf('node_modules/');
  if (modules !== -1) {
    const rest = url.slice(modules + 'node_modules/'.length).split('/');
    return rest[0].startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0];
  }
  const source = /\/(src|dist|bench)\/(.*)$/.exec(url);
  if (source) return `${source[1]}/${source[2]}`;
  return url.startsWith('node:') ? url : url.replace(/^.*\//, '');
}

/** A frame's name: function, place and line. */
export function frameLabel(callFrame) {
  return `${callFrame.functionName || '(anonymous)'} ${where(callFrame.url)}:${callFrame.lineNumber + 1}`;
}

/**
 * The profile's call tree with the time of each node's own samples (µs).
 * Time the thread spent idle, waiting for work, is left out: only CPU time counts.
 */
export function readProfile(file) {
  const profile = JSON.parse(readFileSync(file, 'utf8'));
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfMicros = new Map();
  let busyMicros = 0;
  profile.samples.forEach((id, index) => {
    if (byId.get(id).callFrame.functionName === '(idle)') return;
    const micros = profile.timeDeltas[index] ?? 0;
    selfMicros.set(id, (selfMicros.get(id) ?? 0) + micros);
    busyMicros += micros;
  });
  /** The labels from the root down to `id`. */
  const stackOf = (id) => {
    const stack = [];
    for (let at = id; at !== undefined; at = parentOf.get(at)) stack.push(frameLabel(byId.get(at).callFrame));
    return stack.reverse();
  };
  return { byId, parentOf, selfMicros, busyMicros, stackOf, sampleCount: profile.samples.length };
}
