/** Redirection URIs (RFC 6749 §3.1.2, RFC 9700 §4.1, RFC 8252 §7). */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { checkRedirectUriRegistration, isRegisteredRedirectUri } from '../../src/core/redirect-uri.js';

const REGISTERED = 'https://partner.example/callback';

describe('checkRedirectUriRegistration', () => {
  test('RFC 6749 §3.1.2: an absolute https URI is accepted, with or without a query', () => {
    assert.equal(checkRedirectUriRegistration(REGISTERED), undefined);
    assert.equal(checkRedirectUriRegistration('https://partner.example/callback?tenant=42'), undefined);
    assert.equal(checkRedirectUriRegistration('https://partner.example:8443/cb'), undefined);
  });

  test('RFC 8252 §7.3: plain http is accepted for loopback hosts (localhost, 127.0.0.1, [::1])', () => {
    for (const uri of [
      'http://localhost/callback',
      'http://localhost:8080/callback',
      'http://127.0.0.1:49152/callback',
      'http://[::1]:8080/callback',
    ]) {
      assert.equal(checkRedirectUriRegistration(uri), undefined, uri);
    }
  });

  test('RFC 8252 §7.1: a private-use scheme in reverse domain form is accepted', () => {
    assert.equal(checkRedirectUriRegistration('com.example.app:/oauth2redirect'), undefined);
    assert.equal(checkRedirectUriRegistration('com.example.app://callback'), undefined);
  });

  test('RFC 3986: strings the URL parser would repair are refused, not stored as they are', () => {
    for (const uri of ['https://partner.example/call\nback', ' https://partner.example/cb', 'https://partner.example/cb\t', 'https:partner.example/cb', 'https:\\\\partner.example\\cb']) {
      assert.notEqual(checkRedirectUriRegistration(uri), undefined, JSON.stringify(uri));
    }
  });

  test('RFC 6749 §3.1.2: a relative URI is refused', () => {
    for (const uri of ['/callback', 'callback', '//partner.example/callback', '']) {
      assert.match(checkRedirectUriRegistration(uri) ?? '', /not an absolute URI/, uri);
    }
  });

  test('RFC 6749 §3.1.2: a URI with a fragment is refused, even an empty one', () => {
    assert.match(checkRedirectUriRegistration('https://partner.example/callback#section') ?? '', /fragment/);
    assert.match(checkRedirectUriRegistration('https://partner.example/callback#') ?? '', /fragment/);
  });

  test('RFC 9700 §4.1: javascript:, data:, file:, vbscript:, blob: and about: are refused, whatever their case', () => {
    for (const uri of [
      'javascript:alert(1)',
      'JavaScript:alert(1)',
      'data:text/html,<script>alert(1)</script>',
      'file:///etc/passwd',
      'vbscript:msgbox(1)',
      'blob:https://partner.example/0b1c',
      'about:blank',
    ]) {
      assert.match(checkRedirectUriRegistration(uri) ?? '', /scheme is not allowed/, uri);
    }
  });

  test('RFC 9700 §4.1: a URI with user information is refused', () => {
    for (const uri of [
      'https://user:pass@partner.example/callback',
      'https://user@partner.example/callback',
      'http://localhost@evil.example/callback',
      'com.example.app://user@callback',
    ]) {
      assert.match(checkRedirectUriRegistration(uri) ?? '', /user information/, uri);
    }
  });

  test('RFC 9700 §2.6: plain http to a host other than loopback is refused', () => {
    for (const uri of [
      'http://partner.example/callback',
      'http://localhost.evil.example/callback',
      'http://192.168.1.10/callback',
      'http://localhost./callback',
    ]) {
      assert.match(checkRedirectUriRegistration(uri) ?? '', /only allowed for loopback/, uri);
    }
  });

  test('RFC 8252 §7.1: a private-use scheme without a dot is refused', () => {
    for (const uri of ['myapp:/callback', 'myapp://callback', 'ftp://partner.example/callback']) {
      assert.match(checkRedirectUriRegistration(uri) ?? '', /reverse domain name/, uri);
    }
  });
});

describe('isRegisteredRedirectUri', () => {
  test('RFC 9700 §4.1.3: the identical string matches', () => {
    assert.equal(isRegisteredRedirectUri([REGISTERED], REGISTERED), true);
    assert.equal(isRegisteredRedirectUri(['https://other.example/cb', REGISTERED], REGISTERED), true);
  });

  test('RFC 9700 §4.1.3: nothing matches an empty registration', () => {
    assert.equal(isRegisteredRedirectUri([], REGISTERED), false);
  });

  test('RFC 9700 §4.1.3: a difference in case anywhere is refused (no normalisation)', () => {
    for (const uri of [
      'HTTPS://partner.example/callback',
      'https://Partner.Example/callback',
      'https://partner.example/Callback',
    ]) {
      assert.equal(isRegisteredRedirectUri([REGISTERED], uri), false, uri);
    }
  });

  test('RFC 9700 §4.1.3: a trailing slash, an added query or an added fragment is refused', () => {
    for (const uri of [`${REGISTERED}/`, `${REGISTERED}?next=/admin`, `${REGISTERED}#x`, `${REGISTERED}?`]) {
      assert.equal(isRegisteredRedirectUri([REGISTERED], uri), false, uri);
    }
  });

  test('RFC 9700 §4.1.3: prefix and path traversal variants are refused', () => {
    for (const uri of [
      `${REGISTERED}x`,
      `${REGISTERED}/../../evil`,
      `${REGISTERED}/..%2Fevil`,
      'https://partner.example/evil/../callback',
      'https://partner.example/./callback',
      'https://partner.example/%63allback',
    ]) {
      assert.equal(isRegisteredRedirectUri([REGISTERED], uri), false, uri);
    }
  });

  test('RFC 9700 §4.1.3: user information or another host is refused', () => {
    for (const uri of [
      'https://partner.example@evil.example/callback',
      'https://evil@partner.example/callback',
      'https://evil.partner.example/callback',
      'https://partner.example.evil.example/callback',
    ]) {
      assert.equal(isRegisteredRedirectUri([REGISTERED], uri), false, uri);
    }
  });

  test('RFC 9700 §4.1.3: another port, or the default port written out, is refused', () => {
    assert.equal(isRegisteredRedirectUri([REGISTERED], 'https://partner.example:8443/callback'), false);
    assert.equal(isRegisteredRedirectUri([REGISTERED], 'https://partner.example:443/callback'), false);
  });

  test('RFC 9700 §4.1.3: "localhost." does not match "localhost"', () => {
    assert.equal(isRegisteredRedirectUri(['http://localhost:8080/cb'], 'http://localhost.:8080/cb'), false);
  });
});
