import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { crc32c as crc32cDispatching, crc32cImplementation, crc32cPortable } from './crc32c.js';

/** The textbook one-bit-at-a-time definition, sharing nothing with the implementation under test. */
function referenceCrc32c(bytes: Uint8Array, start: number, end: number): number {
  let crc = 0xffffffff;
  for (let i = start; i < end; i++) {
    crc ^= bytes[i]!;
    for (let bit = 0; bit < 8; bit++) crc = crc & 1 ? (crc >>> 1) ^ 0x82f63b78 : crc >>> 1;
  }
  return (crc ^ 0xffffffff) >>> 0;
}

// RFC 3720 appendix B.4, "An iSCSI - SCSI Read (10) Command PDU".
const ISCSI_READ_PDU = Uint8Array.from([
  0x01, 0xc0, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x00, 0x00,
  0x04, 0x00, 0x00, 0x00, 0x00, 0x14, 0x00, 0x00, 0x00, 0x18, 0x28, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x02, 0x00, 0x00, 0x00,
  0x00, 0x00, 0x00, 0x00,
]);

// Every test runs against both: crc32c (hardware for large inputs where installed) and the portable
// slice-by-8 alone.
describe.each([
  ['crc32c', crc32cDispatching],
  ['crc32cPortable', crc32cPortable],
])('%s', (_implementation, crc32c) => {
describe('published vectors', () => {
  it.each([
    ['RFC 3720 B.4: 32 bytes of 0x00', new Uint8Array(32), 0x8a9136aa],
    ['RFC 3720 B.4: 32 bytes of 0xFF', new Uint8Array(32).fill(0xff), 0x62a8ab43],
    ['RFC 3720 B.4: 32 ascending bytes 0x00..0x1F', Uint8Array.from({ length: 32 }, (_, i) => i), 0x46dd794e],
    ['RFC 3720 B.4: 32 descending bytes 0x1F..0x00', Uint8Array.from({ length: 32 }, (_, i) => 31 - i), 0x113fdb5c],
    ['RFC 3720 B.4: iSCSI read command PDU', ISCSI_READ_PDU, 0xd9963a56],
    ['check value "123456789"', new TextEncoder().encode('123456789'), 0xe3069283],
    ['empty input', new Uint8Array(0), 0],
  ])('%s', (_name, bytes, expected) => {
    expect(crc32c(bytes)).toBe(expected);
  });

  it('checksums the 48-byte PDU the same inside a larger, misaligned buffer (word path)', () => {
    // Long enough for the word loop, at every alignment of the start.
    for (let padding = 0; padding < 8; padding++) {
      const buffer = new Uint8Array(padding + ISCSI_READ_PDU.length * 4 + 3);
      for (let copy = 0; copy < 4; copy++) buffer.set(ISCSI_READ_PDU, padding + copy * ISCSI_READ_PDU.length);
      const end = padding + ISCSI_READ_PDU.length * 4;
      expect(crc32c(buffer, padding, end)).toBe(referenceCrc32c(buffer, padding, end));
      expect(crc32c(buffer, padding, padding + ISCSI_READ_PDU.length)).toBe(0xd9963a56);
    }
  });

  it('fails an assertion, not a RangeError, for a range outside the array', () => {
    expect(() => crc32c(new Uint8Array(4), 2, 5)).toThrow(/assertion failed/);
    expect(() => crc32c(new Uint8Array(4), 3, 2)).toThrow(/assertion failed/);
  });
});

describe('matches the bytewise reference', () => {
  it('for random inputs, random [start, end) and random alignment of the view', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ maxLength: 2000 }),
        fc.nat({ max: 7 }),
        fc.nat(),
        fc.nat(),
        (content, viewOffset, a, b) => {
          // A view that starts at viewOffset of its buffer, so word alignment varies.
          const backing = new Uint8Array(content.length + viewOffset);
          backing.set(content, viewOffset);
          const bytes = backing.subarray(viewOffset);
          const start = content.length === 0 ? 0 : a % (content.length + 1);
          const end = start + (content.length === 0 ? 0 : b % (content.length - start + 1));
          expect(crc32c(bytes, start, end)).toBe(referenceCrc32c(bytes, start, end));
        },
      ),
      { numRuns: 2000 },
    );
  });

  it('on a 1 MiB input (the main loop over many steps)', () => {
    const bytes = Uint8Array.from({ length: 1 << 20 }, (_, i) => (i * 2654435761) >>> 24);
    expect(crc32c(bytes)).toBe(referenceCrc32c(bytes, 0, bytes.length));
    expect(crc32c(bytes, 5, bytes.length - 3)).toBe(referenceCrc32c(bytes, 5, bytes.length - 3));
  });
});
});

describe('crc32c implementation choice', () => {
  it.runIf(process.platform === 'linux' && process.arch === 'x64')('uses the hardware path where @node-rs/crc32 ships a prebuilt binary', () => {
    expect(crc32cImplementation).toBe('hardware');
  });

  it('BROOK_CRC32C=portable turns the hardware path off, with the same results', async () => {
    vi.resetModules();
    vi.stubEnv('BROOK_CRC32C', 'portable');
    try {
      const fresh = await import('./crc32c.js');
      expect(fresh.crc32cImplementation).toBe('portable');
      const bytes = Uint8Array.from({ length: 4096 }, (_, i) => (i * 31) & 0xff);
      expect(fresh.crc32c(bytes, 3, 4000)).toBe(referenceCrc32c(bytes, 3, 4000));
    } finally {
      vi.unstubAllEnvs();
      vi.resetModules();
    }
  });
});
