import { fourOhOneGoPreset } from './401go.js';
import { defaultPreset } from './default.js';
import { go1Preset } from './go1.js';
import { gocdPreset } from './gocd.js';
import { gotoPreset } from './goto.js';
import type { Preset } from './types.js';

export type { Preset } from './types.js';

export const presets: Readonly<Record<string, Preset>> = {
  default: defaultPreset,
  go1: go1Preset,
  goto: gotoPreset,
  gocd: gocdPreset,
  '401go': fourOhOneGoPreset,
};

export function presetNames(): string[] {
  return Object.keys(presets);
}
