/** Form and query parameters: each name at most once (RFC 6749 §3.1, §3.2). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isFormParams, mergeForms, parseFormEncoded, queryOf } from '../../src/http/form.js';

describe('parseFormEncoded', () => {
  test('names and values are read', () => {
    const { params, repeated } = parseFormEncoded('grant_type=authorization_code&code=abc');
    assert.deepEqual({ ...params }, { grant_type: 'authorization_code', code: 'abc' });
    assert.deepEqual(repeated, []);
  });

  test('RFC 6749 §3.1: a repeated name is reported once, and the first value is kept', () => {
    const { params, repeated } = parseFormEncoded('scope=read&scope=write&state=x&scope=admin');
    assert.equal(params.scope, 'read');
    assert.equal(params.state, 'x');
    assert.deepEqual(repeated, ['scope']);
  });

  test('RFC 6749 §3.1: a name repeated with empty values still counts as repeated', () => {
    const { params, repeated } = parseFormEncoded('state=&state=');
    assert.equal(params.state, '');
    assert.deepEqual(repeated, ['state']);
  });

  test('every repeated name is reported, in order of first repetition', () => {
    assert.deepEqual(parseFormEncoded('b=1&a=1&a=2&b=2&c=1').repeated, ['a', 'b']);
  });

  test('RFC 6749 Appendix B: "+" decodes to a space and percent-escapes are decoded as UTF-8', () => {
    const { params } = parseFormEncoded('scope=profile+read&secret=a%2Bb%26c%3Dd&name=%C3%A9');
    assert.equal(params.scope, 'profile read');
    assert.equal(params.secret, 'a+b&c=d');
    assert.equal(params.name, 'é');
  });

  test('a name such as __proto__ is an ordinary parameter and does not touch the prototype', () => {
    const protoName = '__proto__';
    const { params } = parseFormEncoded(`${protoName}=x&constructor=y`);
    assert.equal(Object.getPrototypeOf(params), null);
    assert.equal(Object.hasOwn(params, protoName), true);
    assert.equal(params[protoName], 'x');
    assert.equal(params.constructor, 'y');
    assert.equal(({} as Record<string, unknown>).x, undefined);
  });

  test('the same parameters as URLSearchParams, for texts with and without anything to decode', () => {
    const asUrlSearchParams = (text: string) => {
      const params: Record<string, string> = {};
      const repeated: string[] = [];
      for (const [name, value] of new URLSearchParams(text)) {
        if (Object.hasOwn(params, name)) {
          if (!repeated.includes(name)) repeated.push(name);
        } else params[name] = value;
      }
      return { params, repeated };
    };
    const texts = ['', '?', '??a=1', '?a=1', 'a', 'a=', '=b', '=', '&&', 'a=b=c', '&a=1&', 'a=1&a=2&b&b=', 'a==', 'a&b=1&a', '&=&=x', 'é=ü', 'x=中', 'x=\ud800', 'a=%41', 'a=b+c', 'a%3Db=c%26d', '%zz=1', 'a=%', 'a=%4', 'x=%C3%A9+%2B'];
    // And thousands of short texts over the characters that matter, from a fixed seed.
    const alphabet = ['a', 'b', '=', '&', '?', '%', '+', '4', '1', 'é', '中', '\ud800', '%41', '%2B', '%C3', '%A9', '%E4%B8%AD', '%ED%A0%80', '%C0%AF', '%zz', '%F0%9F%98%80'];
    let seed = 7;
    const next = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed;
    };
    for (let count = 0; count < 20_000; count++) {
      let text = '';
      for (let length = next() % 10; length > 0; length--) text += alphabet[next() % alphabet.length];
      texts.push(text);
    }
    for (const text of texts) {
      const { params, repeated } = parseFormEncoded(text);
      assert.deepEqual({ params: { ...params }, repeated }, asUrlSearchParams(text), JSON.stringify(text));
    }
  });

  test('the empty string gives no parameters', () => {
    const { params, repeated } = parseFormEncoded('');
    assert.deepEqual(Object.keys(params), []);
    assert.deepEqual(repeated, []);
  });
});

describe('queryOf', () => {
  test('the query string of a request URL is parsed, repeats included', () => {
    const { params, repeated } = queryOf('/oauth/authorize?client_id=c1&state=a&state=b');
    assert.equal(params.client_id, 'c1');
    assert.deepEqual(repeated, ['state']);
  });

  test('a URL without a query has no parameters', () => {
    assert.deepEqual(Object.keys(queryOf('/oauth/authorize').params), []);
  });
});

describe('mergeForms', () => {
  test('RFC 6749 §3.2: a name in both the query and the body counts as repeated; the first source wins', () => {
    const merged = mergeForms(parseFormEncoded('grant_type=refresh_token&client_id=q'), parseFormEncoded('client_id=b&refresh_token=r'));
    assert.deepEqual({ ...merged.params }, { grant_type: 'refresh_token', client_id: 'q', refresh_token: 'r' });
    assert.deepEqual(merged.repeated, ['client_id']);
  });

  test('names repeated within either source stay reported', () => {
    const merged = mergeForms(parseFormEncoded('a=1&a=2'), parseFormEncoded('b=1&b=2'));
    assert.deepEqual(merged.repeated.sort(), ['a', 'b']);
  });

  test('a name repeated in one source and present in the other is reported once', () => {
    assert.deepEqual(mergeForms(parseFormEncoded('a=1&a=2'), parseFormEncoded('a=3')).repeated, ['a']);
  });

  test('sources without common names merge without repeats', () => {
    const merged = mergeForms(parseFormEncoded('a=1'), parseFormEncoded('b=2'));
    assert.deepEqual({ ...merged.params }, { a: '1', b: '2' });
    assert.deepEqual(merged.repeated, []);
  });

  test('the merge does not change its inputs', () => {
    const first = parseFormEncoded('a=1');
    const second = parseFormEncoded('a=2&b=3');
    mergeForms(first, second);
    assert.deepEqual({ ...first.params }, { a: '1' });
    assert.deepEqual(first.repeated, []);
  });
});

describe('isFormParams', () => {
  test('recognises parsed parameters and nothing else', () => {
    assert.equal(isFormParams(parseFormEncoded('a=1')), true);
    assert.equal(isFormParams({ a: '1' }), false);
    assert.equal(isFormParams(null), false);
    assert.equal(isFormParams('a=1'), false);
  });
});
