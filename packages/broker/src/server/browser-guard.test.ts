import { describe, expect, it } from 'vitest';
import { browserGuard, isLoopbackHost, refusalOf, resolveAllowedHosts, resolveAllowedOrigins } from './browser-guard.js';

describe('allowedOrigins', () => {
  it('normalises each origin as a browser writes its Origin header', () => {
    expect(resolveAllowedOrigins(['HTTP://LocalHost:5173/', 'https://app.example:443', 'http://[::1]:80', 'chrome-extension://abcdefgh', '*']))
      .toEqual(['http://localhost:5173', 'https://app.example', 'http://[::1]', 'chrome-extension://abcdefgh', '*']);
    expect(Object.isFrozen(resolveAllowedOrigins([]))).toBe(true);
  });

  it('lowercases the host of an origin URL leaves as written (a scheme with no origin of its own): the Origin it is matched against is lowercased', () => {
    const guard = browserGuard('127.0.0.1', resolveAllowedOrigins(['chrome-extension://ABCDEFGH']), []);
    expect(guard.allowedOrigins).toEqual(['chrome-extension://abcdefgh']);
    expect(refusalOf({ origin: ['chrome-extension://abcdefgh'] }, guard)).toBeUndefined();
  });

  it.each([['not a list', 'http://localhost'], ['a path', ['http://localhost/app']], ['a query', ['http://localhost/?a=1']], ['a user', ['http://u@localhost']],
    ['no URL', ['localhost:5173']], ['empty', ['']], ['not a string', [5]], ['null', null]])('refuses %s with INVALID_CONFIG naming allowedOrigins', (_, value) => {
    expect(() => resolveAllowedOrigins(value)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', details: { option: 'allowedOrigins' } }));
  });
});

describe('allowedHosts', () => {
  it('lowercases names, drops a root dot, keeps *', () => {
    expect(resolveAllowedHosts(['Brook.Test', 'devbox.', '*'])).toEqual(['brook.test', 'devbox', '*']);
  });

  it.each([['a port', ['brook.test:7070']], ['a scheme', ['http://brook.test']], ['empty', ['']], ['a space', ['brook test']], ['not a list', 'brook.test']])(
    'refuses %s with INVALID_CONFIG naming allowedHosts',
    (_, value) => {
      expect(() => resolveAllowedHosts(value)).toThrow(expect.objectContaining({ code: 'INVALID_CONFIG', details: { option: 'allowedHosts' } }));
    },
  );
});

describe('isLoopbackHost', () => {
  it.each([['127.0.0.1', true], ['127.255.0.9', true], ['::1', true], ['[::1]', true], ['0:0:0:0:0:0:0:1', true], ['::ffff:127.0.0.1', true], ['localhost', true], ['LOCALHOST', true],
    ['0.0.0.0', false], ['::', false], ['10.1.2.3', false], ['128.0.0.1', false], ['::2', false], ['devbox', false]])('%s: %s', (host, loopback) => {
    expect(isLoopbackHost(host)).toBe(loopback);
  });
});

describe('refusalOf', () => {
  const loopback = browserGuard('127.0.0.1', [], ['brook.test']);
  /** Headers as node's headersDistinct has them: one line each. */
  const lines = (headers: Record<string, string>) => Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, [value]]));

  it('passes a request with neither Origin nor Host (no browser sends such a request)', () => {
    expect(refusalOf(lines({}), loopback)).toBeUndefined();
  });

  it('refuses an Origin not listed, whatever the Host', () => {
    expect(refusalOf(lines({ origin: 'http://localhost:3000', host: 'localhost' }), loopback)).toMatch(/^origin not allowed/);
    expect(refusalOf(lines({ origin: 'http://localhost:3000' }), browserGuard('127.0.0.1', ['http://localhost:3000'], []))).toBeUndefined();
  });

  it.each(['127.0.0.1', '127.0.0.1:7070', '[::1]:7070', '[::ffff:127.0.0.1]', 'localhost', 'LOCALHOST:7070', 'localhost.', 'a.b.localhost:1', 'brook.test:7070', '10.0.0.5'])(
    'on loopback, Host %s passes',
    (host) => {
      expect(refusalOf(lines({ host }), loopback)).toBeUndefined();
    },
  );

  it.each(['evil.example', 'evil.example:7070', 'localhost.evil.example', '127.0.0.1.nip.io', 'user@localhost', 'localhost/x', '[evil]:1', 'brook.test.evil.example', '', 'localhost:7070:1'])(
    'on loopback, Host %j is refused',
    (host) => {
      expect(refusalOf(lines({ host }), loopback)).toMatch(/^host not allowed/);
    },
  );

  it('refuses a Host or an Origin sent twice, whichever comes first (node would read the first Host, and join the Origins)', () => {
    expect(refusalOf({ host: ['127.0.0.1', 'evil.example'] }, loopback)).toMatch(/^host not allowed/);
    expect(refusalOf({ host: ['localhost', 'localhost'] }, loopback)).toMatch(/^host not allowed/);
    const admitting = browserGuard('127.0.0.1', ['http://localhost:3000'], []);
    expect(refusalOf({ origin: ['http://localhost:3000', 'https://evil.example'] }, admitting)).toMatch(/^origin not allowed/);
  });

  it('bound to no loopback address, any Host passes (the token guards it); Origin is still checked', () => {
    for (const address of ['0.0.0.0', '::', '192.168.1.20']) {
      const guard = browserGuard(address, [], []);
      expect(refusalOf(lines({ host: 'devbox.lan:7070' }), guard)).toBeUndefined();
      expect(refusalOf(lines({ host: 'devbox.lan', origin: 'http://devbox.lan' }), guard)).toMatch(/^origin not allowed/);
    }
  });
});
