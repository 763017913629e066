import { describe, expect, it } from 'vitest';
import { bytesJson, fullText, plural } from './format.js';

describe('record bytes in CLI output', () => {
  it('keeps a leading byte-order mark in text and JSON, so the bytes round-trip', () => {
    const withBom = new Uint8Array([0xef, 0xbb, 0xbf, 0x41]);
    expect(bytesJson(withBom)).toBe('\uFEFFA');
    expect(fullText(withBom)).toBe('\uFEFFA');
    expect(new TextEncoder().encode(bytesJson(withBom) as string)).toEqual(withBom);
  });

  it('shows bytes that are not UTF-8 as base64 in JSON and hex in text', () => {
    const binary = new Uint8Array([0xff, 0x00, 0x41]);
    expect(bytesJson(binary)).toEqual({ base64: Buffer.from(binary).toString('base64') });
    expect(fullText(binary)).toBe('0xff0041');
  });
});

it('plural takes the singular for one and an irregular plural where adding an s is wrong', () => {
  expect([plural(1, 'batch', 'batches'), plural(2, 'batch', 'batches'), plural(0n, 'record'), plural(1n, 'record')]).toEqual(['1 batch', '2 batches', '0 records', '1 record']);
});
