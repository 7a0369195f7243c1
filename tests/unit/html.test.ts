/** The escaping HTML template tag. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { escapeHtml, html, SafeHtml } from '../../src/views/html.js';

describe('escapeHtml', () => {
  test('the five HTML-significant characters are escaped', () => {
    assert.equal(escapeHtml(`<a href="x" title='y'>&</a>`), '&lt;a href=&quot;x&quot; title=&#39;y&#39;&gt;&amp;&lt;/a&gt;');
  });

  test('an existing entity is escaped again, not passed through', () => {
    assert.equal(escapeHtml('&amp;'), '&amp;amp;');
  });

  test('other text is unchanged', () => {
    assert.equal(escapeHtml('Partner App — read, write; 100% (ok)'), 'Partner App — read, write; 100% (ok)');
  });
});

describe('html', () => {
  test('interpolated strings are escaped in text', () => {
    const name = '<script>alert(1)</script>';
    assert.equal(html`<p>${name}</p>`.value, '<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>');
  });

  test('interpolated strings cannot break out of a double- or single-quoted attribute', () => {
    assert.equal(html`<a title="${'" onmouseover="x'}">`.value, '<a title="&quot; onmouseover=&quot;x">');
    assert.equal(html`<a title='${"' onmouseover='x"}'>`.value, "<a title='&#39; onmouseover=&#39;x'>");
  });

  test('the template literal parts themselves are kept as written', () => {
    assert.equal(html`<b class="x">${'&'}</b>`.value, '<b class="x">&amp;</b>');
  });

  test('arrays, nested arrays included, are rendered item by item and escaped', () => {
    const out = html`<ul>${['<a>', ['<b>', html`<i>ok</i>`], [[['&']]]]}</ul>`;
    assert.equal(out.value, '<ul>&lt;a&gt;&lt;b&gt;<i>ok</i>&amp;</ul>');
  });

  test('SafeHtml values are passed through unescaped', () => {
    const inner = html`<em>${'<x>'}</em>`;
    assert.equal(html`<p>${inner}</p>`.value, '<p><em>&lt;x&gt;</em></p>');
    assert.equal(html`${new SafeHtml('<br>')}`.value, '<br>');
  });

  test('null, undefined and false render as nothing; numbers and true render as text', () => {
    assert.equal(html`[${null}|${undefined}|${false}]`.value, '[||]');
    assert.equal(html`[${0}|${42}|${true}]`.value, '[0|42|true]');
  });

  test('the result is SafeHtml whose string form is the markup', () => {
    const out = html`<p>${'a'}</p>`;
    assert.ok(out instanceof SafeHtml);
    assert.equal(String(out), '<p>a</p>');
    assert.equal(`${out}`, '<p>a</p>');
  });
});
