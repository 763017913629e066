import { describe, expect, it } from 'vitest';
import { FRAME_HEADER_BYTES, FrameKind, decodeFrame, encodeFrame } from './frame.js';
import { encodeTakenBackFrame, isIdRanges, knownFeatures, readTakenBack } from './taken-back.js';

describe('TAKEN_BACK frame', () => {
  it('is kind 8, the subscription as requestId, json { ids } of inclusive ranges and no data', () => {
    const bytes = encodeTakenBackFrame(7, [[0, 2], [5, 5]]);
    const json = '{"ids":[[0,2],[5,5]]}';
    expect([...bytes.subarray(0, FRAME_HEADER_BYTES)]).toEqual([8, 0, 0, 0, 7, 0, 0, 0, json.length]);
    expect(new TextDecoder().decode(bytes.subarray(FRAME_HEADER_BYTES))).toBe(json);
    const frame = decodeFrame(bytes);
    expect([frame.kind, frame.requestId, frame.data.length]).toEqual([FrameKind.TAKEN_BACK, 7, 0]);
    expect(readTakenBack(frame.json)).toEqual([[0, 2], [5, 5]]);
  });

  it.each([
    ['no ids', {}],
    ['ids not a list', { ids: 3 }],
    ['a range of one id', { ids: [[4]] }],
    ['first after last', { ids: [[5, 4]] }],
    ['a negative id', { ids: [[-1, 0]] }],
    ['a fraction', { ids: [[0, 1.5]] }],
    ['past 2^53', { ids: [[0, 2 ** 53]] }],
    ['a string id', { ids: [['0', 1]] }],
  ])('a frame with %s is a broken server: INVALID_REQUEST naming ids', (_name, json) => {
    expect(() => readTakenBack(decodeFrame(encodeFrame(FrameKind.TAKEN_BACK, 1, JSON.stringify(json))).json))
      .toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', details: { field: 'ids' } }));
  });

  it('isIdRanges takes an empty list and refuses anything else that is not [first, last] pairs', () => {
    expect(isIdRanges([])).toBe(true);
    expect(isIdRanges([[0, 0], [3, 9]])).toBe(true);
    expect(isIdRanges({ 0: [0, 0] })).toBe(false);
    expect(isIdRanges([[0, 0, 0]])).toBe(false);
  });
});

describe("HELLO's features", () => {
  it('keeps the known ones once each, ignores unknown ones (a later client), takes none for a client from before features', () => {
    expect(knownFeatures(undefined)).toEqual([]);
    expect(knownFeatures([])).toEqual([]);
    expect(knownFeatures(['takenBack', 'later', 'takenBack'])).toEqual(['takenBack']);
  });

  it.each([['a string', 'takenBack'], ['null', null], ['a list with a number', ['takenBack', 1]]])('refuses %s: INVALID_REQUEST naming features', (_name, features) => {
    expect(() => knownFeatures(features)).toThrow(expect.objectContaining({ code: 'INVALID_REQUEST', details: expect.objectContaining({ field: 'features' }) }));
  });
});
