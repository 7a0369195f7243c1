/**
 * Functions that run inside the browser page (Playwright serialises each
 * one), kept in plain JavaScript so the TypeScript build needs no DOM types.
 * Each must be self-contained: no imports, no outer variables.
 */

/**
 * A language, one h1, a label for every field, a name for every button and
 * link, WCAG 2.2 AA text contrast (4.5:1; 3:1 for large text) and no
 * sideways scrolling.
 */
export function accessibilityProblems() {
  const problems = [];
  if (!document.documentElement.lang) problems.push('no lang on <html>');
  const h1 = document.querySelectorAll('h1').length;
  if (h1 !== 1) problems.push(`${h1} h1 headings`);
  for (const input of document.querySelectorAll('input:not([type=hidden]), select, textarea')) {
    if ((input.labels?.length ?? 0) === 0 && !input.getAttribute('aria-label')) problems.push(`field ${input.name} has no label`);
  }
  for (const control of document.querySelectorAll('button, a')) {
    if (!control.textContent?.trim() && !control.getAttribute('aria-label')) problems.push(`unnamed ${control.tagName.toLowerCase()}`);
  }
  const rgba = (value) => {
    const parts = value.match(/[\d.]+/g)?.map(Number) ?? [0, 0, 0, 0];
    return [parts[0] ?? 0, parts[1] ?? 0, parts[2] ?? 0, parts.length > 3 ? parts[3] : 1];
  };
  const background = (element) => {
    const layers = [];
    for (let node = element; node; node = node.parentElement) {
      const color = rgba(getComputedStyle(node).backgroundColor);
      if (color[3] > 0) layers.push(color);
      if (color[3] >= 1) break;
    }
    let result = [255, 255, 255];
    for (const [r, g, b, a] of layers.reverse()) {
      result = [r * a + result[0] * (1 - a), g * a + result[1] * (1 - a), b * a + result[2] * (1 - a)];
    }
    return result;
  };
  const luminance = ([r, g, b]) => {
    const channel = (value) => {
      const c = value / 255;
      return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
    };
    return 0.2126 * channel(r) + 0.7152 * channel(g) + 0.0722 * channel(b);
  };
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const element = node.parentElement;
    if (!element || !node.textContent?.trim()) continue;
    const style = getComputedStyle(element);
    const box = element.getBoundingClientRect();
    if (style.visibility === 'hidden' || style.display === 'none' || box.width <= 1 || box.height <= 1) continue;
    const fore = luminance(rgba(style.color));
    const back = luminance(background(element));
    const ratio = (Math.max(fore, back) + 0.05) / (Math.min(fore, back) + 0.05);
    const size = Number.parseFloat(style.fontSize);
    const large = size >= 24 || (size >= 18.66 && Number(style.fontWeight) >= 700);
    if (ratio < (large ? 3 : 4.5)) problems.push(`contrast ${ratio.toFixed(2)}:1 for "${node.textContent.trim().slice(0, 30)}"`);
  }
  if (document.documentElement.scrollWidth > window.innerWidth) {
    problems.push(`scrolls sideways: ${document.documentElement.scrollWidth}px of content in a ${window.innerWidth}px window`);
  }
  return problems;
}

export function blurActive() {
  document.activeElement?.blur();
}

/** The label or text of the focused element. */
export function focusedName() {
  const element = document.activeElement;
  if (!element) return '';
  return (element.labels?.[0]?.textContent ?? element.textContent ?? '').trim().replace(/\s+/g, ' ');
}
