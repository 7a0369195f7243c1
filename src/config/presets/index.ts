import { defaultPreset } from './default.js';
import type { Preset } from './types.js';

export type { Preset } from './types.js';

export const presets: Readonly<Record<string, Preset>> = {
  default: defaultPreset,
};

export function presetNames(): string[] {
  return Object.keys(presets);
}
