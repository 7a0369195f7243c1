/** Functions that run inside the browser page (in-page.js). */
export function accessibilityProblems(): string[];
export function blurActive(): void;
export function focusedName(): string;
