#!/usr/bin/env node
// Runs the TypeScript source through tsx, so a checkout never runs stale compiled code.
// In production, `npm run build` and run `node dist/main.js` directly.
import { register } from 'tsx/esm/api';

register();
await import('../src/main.ts');
