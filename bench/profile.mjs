#!/usr/bin/env node
// Summarises a V8 CPU profile (node --cpu-prof): where the server's CPU time
// goes (idle time left out), by package or source folder and by function
// (self time), and the total time of Latchkey's own functions (with what they
// call). For the picture, see bench/flamegraph.mjs.
// Usage: node bench/profile.mjs FILE.cpuprofile [top]
import { frameLabel, readProfile, where } from './cpuprofile.mjs';

const { byId, parentOf, selfMicros, busyMicros, sampleCount } = readProfile(process.argv[2]);
const top = Number(process.argv[3] ?? 30);

// Total (inclusive) time: each sample counts once for every distinct function on its stack.
const inclusive = new Map();
for (const [id, micros] of selfMicros) {
  const seen = new Set();
  for (let at = id; at !== undefined; at = parentOf.get(at)) {
    const name = frameLabel(byId.get(at).callFrame);
    if (seen.has(name)) continue;
    seen.add(name);
    inclusive.set(name, (inclusive.get(name) ?? 0) + micros);
  }
}

const functions = new Map();
const places = new Map();
for (const [id, micros] of selfMicros) {
  const { callFrame } = byId.get(id);
  const name = frameLabel(callFrame);
  const place = where(callFrame.url);
  functions.set(name, (functions.get(name) ?? 0) + micros);
  places.set(place, (places.get(place) ?? 0) + micros);
}
const show = (title, map) => {
  console.log(`\n${title}`);
  for (const [name, micros] of [...map].sort((a, b) => b[1] - a[1]).slice(0, top)) {
    console.log(`${((micros / busyMicros) * 100).toFixed(1).padStart(5)}%  ${name}`);
  }
};
console.log(`samples: ${sampleCount}, CPU time (idle left out): ${(busyMicros / 1e6).toFixed(1)} s`);
show('self time by package or source file', places);
show('self time by function', functions);
show("total time by function (Latchkey's own: src/ or dist/)", new Map([...inclusive].filter(([name]) => / (src|dist)\//.test(name))));
