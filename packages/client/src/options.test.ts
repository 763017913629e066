import { describe, expect, it } from 'vitest';
import { SeededRandom } from '@brook/protocol';
import { connect } from './connect.js';
import { DEFAULTS, resolveConnectOptions, resolveProducerOptions } from './options.js';
import { backoffDelayMs } from './transport/backoff.js';
import { closeError } from './transport/close-codes.js';

describe('options', () => {
  it('fills defaults from the one frozen table', () => {
    expect(Object.isFrozen(DEFAULTS) && Object.isFrozen(DEFAULTS.producer)).toBe(true);
    expect(resolveConnectOptions({})).toEqual({
      token: undefined, name: 'brook-client', connectTimeoutMs: 10_000, requestTimeoutMs: 30_000, reconnect: { ...DEFAULTS.reconnect },
      heartbeat: { intervalMs: 10_000, timeoutMs: 10_000 }, closeTimeoutMs: 2_000,
    });
    expect(resolveConnectOptions({ reconnect: false }).reconnect).toBeUndefined();
    expect(resolveProducerOptions({ lingerMs: 5 })).toMatchObject({ lingerMs: 5, batchRecordsMax: 10_000, idempotent: true, metadataMaxAgeMs: 300_000 });
  });

  it('refuses other bad values with INVALID_CONFIG naming the option', () => {
    expect(() => resolveConnectOptions({ reconnect: { initialDelayMs: 10, maxDelayMs: 5 } })).toThrow(/reconnect.maxDelayMs/);
    expect(() => resolveProducerOptions({ idempotent: 'yes' as never })).toThrow(/idempotent/);
  });

  // Every numeric option at its lower bound (none has an upper one but jitter): the bound is
  // accepted, just below it (and a fraction, for the integer ones) is INVALID_CONFIG naming it.
  it.each<[string, number, (value: number) => unknown, boolean]>([
    ['connectTimeoutMs', 1, (v) => resolveConnectOptions({ connectTimeoutMs: v }), true],
    ['requestTimeoutMs', 1, (v) => resolveConnectOptions({ requestTimeoutMs: v }), true],
    ['heartbeatIntervalMs', 0, (v) => resolveConnectOptions({ heartbeatIntervalMs: v }), true],
    ['heartbeatTimeoutMs', 1, (v) => resolveConnectOptions({ heartbeatTimeoutMs: v }), true],
    ['closeTimeoutMs', 1, (v) => resolveConnectOptions({ closeTimeoutMs: v }), true],
    ['reconnect.initialDelayMs', 0, (v) => resolveConnectOptions({ reconnect: { initialDelayMs: v } }), true],
    ['reconnect.maxDelayMs', 0, (v) => resolveConnectOptions({ reconnect: { initialDelayMs: 0, maxDelayMs: v } }), true],
    ['reconnect.multiplier', 1, (v) => resolveConnectOptions({ reconnect: { multiplier: v } }), false],
    ['reconnect.jitter', 0, (v) => resolveConnectOptions({ reconnect: { jitter: v } }), false],
    ['reconnect.attemptsMax', 1, (v) => resolveConnectOptions({ reconnect: { attemptsMax: v } }), true],
    ['lingerMs', 0, (v) => resolveProducerOptions({ lingerMs: v }), true],
    ['batchRecordsMax', 1, (v) => resolveProducerOptions({ batchRecordsMax: v }), true],
    ['batchBytesMax', 1, (v) => resolveProducerOptions({ batchBytesMax: v }), true],
    ['deliveryTimeoutMs', 1, (v) => resolveProducerOptions({ deliveryTimeoutMs: v }), true],
    ['bufferBytesMax', 1, (v) => resolveProducerOptions({ bufferBytesMax: v }), true],
    ['retryBackoff.initialDelayMs', 0, (v) => resolveProducerOptions({ retryBackoff: { initialDelayMs: v } }), true],
    ['retryBackoff.maxDelayMs', 0, (v) => resolveProducerOptions({ retryBackoff: { initialDelayMs: 0, maxDelayMs: v } }), true],
    ['retryBackoff.multiplier', 1, (v) => resolveProducerOptions({ retryBackoff: { multiplier: v } }), false],
    ['retryBackoff.jitter', 0, (v) => resolveProducerOptions({ retryBackoff: { jitter: v } }), false],
    ['metadataMaxAgeMs', 1, (v) => resolveProducerOptions({ metadataMaxAgeMs: v }), true],
  ])('%s: %d is accepted, just below (or null: only an absent option takes its default) is INVALID_CONFIG', (option, min, resolve, integer) => {
    expect(() => resolve(min)).not.toThrow();
    const refused = expect.objectContaining({ code: 'INVALID_CONFIG', details: { option } });
    for (const bad of [...(integer ? [min - 1, min + 0.5] : [min - 0.01]), null as never]) expect(() => resolve(bad), String(bad)).toThrow(refused);
  });

  it('refuses null for the options that are no number too, rather than take their default', () => {
    const refused = (option: string) => expect.objectContaining({ code: 'INVALID_CONFIG', details: expect.objectContaining({ option }) });
    expect(() => resolveConnectOptions({ name: null as never })).toThrow(refused('name'));
    expect(() => resolveConnectOptions({ reconnect: null as never })).toThrow(refused('reconnect'));
    expect(() => resolveProducerOptions({ idempotent: null as never })).toThrow(refused('idempotent'));
  });

  it.each(['ws://127.0.0.1:99999', 'ws://[::1', 'http://127.0.0.1:7070'])('connect(%j) refuses the URL with INVALID_CONFIG naming it, before connecting', async (url) => {
    await expect(connect(url)).rejects.toMatchObject({ name: 'BrookError', code: 'INVALID_CONFIG', details: { option: 'url' } });
  });

  it('a token of the wrong type is INVALID_CONFIG naming it, its value not shown (a numeric secret read as a number is still a secret)', () => {
    for (const token of [90210417, { secret: 'inner-secret-value' }]) {
      let error: unknown;
      try {
        resolveConnectOptions({ token: token as never });
      } catch (caught) {
        error = caught;
      }
      expect(error).toMatchObject({ code: 'INVALID_CONFIG', details: { option: 'token' } });
      expect(JSON.stringify({ message: (error as Error).message, details: (error as { details: unknown }).details })).not.toMatch(/90210417|inner-secret-value/);
    }
  });

  it('holds jitter to at most 1', () => {
    expect(resolveConnectOptions({ reconnect: { jitter: 1 } }).reconnect?.jitter).toBe(1);
    expect(() => resolveProducerOptions({ retryBackoff: { jitter: 1.01 } })).toThrow(expect.objectContaining({ details: { option: 'retryBackoff.jitter' } }));
  });

  it('refuses unknown keys, nested ones too, suggesting the name meant', () => {
    const refused = (option: string, suggestion?: string) =>
      expect.objectContaining({ code: 'INVALID_CONFIG', details: suggestion === undefined ? { option } : { option, suggestion } });
    expect(() => resolveConnectOptions({ bogus: 1 } as never)).toThrow(refused('bogus'));
    expect(() => resolveConnectOptions({ bogus: 1 } as never)).toThrow(/unknown option bogus \(known: token, name, reconnect, connectTimeoutMs, requestTimeoutMs, heartbeatIntervalMs, heartbeatTimeoutMs, closeTimeoutMs, clock, random\)/);
    expect(() => resolveConnectOptions({ requestTimeoutMS: 5 } as never)).toThrow(refused('requestTimeoutMS', 'requestTimeoutMs'));
    expect(() => resolveConnectOptions({ reconnect: { maxAttempts: 3 } as never })).toThrow(refused('reconnect.maxAttempts'));
    expect(() => resolveConnectOptions({ reconnect: { attemptMax: 3 } as never })).toThrow(refused('reconnect.attemptMax', 'reconnect.attemptsMax'));
    expect(() => resolveProducerOptions({ linger: 5 } as never)).toThrow(/unknown option linger \(did you mean lingerMs\?\)/);
    expect(() => resolveProducerOptions({ retryBackoff: { initialDelay: 5 } as never })).toThrow(refused('retryBackoff.initialDelay', 'retryBackoff.initialDelayMs'));
    expect(() => resolveProducerOptions(null as never)).toThrow(refused('options'));
    // Known keys left undefined are fine: `{ ...defaults, lingerMs: undefined }` is a common spread.
    expect(resolveProducerOptions({ lingerMs: undefined }).lingerMs).toBe(0);
  });
});

describe('backoffDelayMs', () => {
  it('grows exponentially to the cap, jittered within bounds', () => {
    const policy = { initialDelayMs: 100, maxDelayMs: 1_000, multiplier: 2, jitter: 0 };
    const random = new SeededRandom(7);
    expect([0, 1, 2, 3, 4, 10].map((attempt) => backoffDelayMs(policy, attempt, random))).toEqual([100, 200, 400, 800, 1_000, 1_000]);
    for (let i = 0; i < 100; i++) {
      const delay = backoffDelayMs({ ...policy, jitter: 0.5 }, 0, random);
      expect(delay).toBeGreaterThanOrEqual(50);
      expect(delay).toBeLessThanOrEqual(150);
    }
  });
});

describe('closeError', () => {
  it('maps close codes to error codes; retriable decides reconnecting', () => {
    expect(closeError(4001, '')).toMatchObject({ code: 'UNAUTHORIZED', retriable: false, details: { closeCode: 4001 } });
    expect(closeError(1001, 'bye')).toMatchObject({ code: 'DISCONNECTED', retriable: true });
    expect(closeError(1006, '')).toMatchObject({ code: 'DISCONNECTED', retriable: true });
    expect(closeError(4003, '')).toMatchObject({ code: 'TIMEOUT', retriable: true });
    expect(closeError(1009, '')).toMatchObject({ code: 'MESSAGE_TOO_LARGE', retriable: false });
    expect(closeError(4000, '')).toMatchObject({ code: 'INVALID_REQUEST', retriable: false });
  });
});
