/**
 * README.md and docs/semantics.md list every broker event with its payload, as
 * packages/broker/src/events.ts declares it (BrokerEvents, RecordRef, GroupRecordRef,
 * RedeliveryReason, RebalanceReason). An event added or changed there without the docs fails here.
 */
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const read = (path: string) => readFileSync(new URL(`../${path}`, import.meta.url), 'utf8');
const source = read('packages/broker/src/events.ts');

/** Each `name: (event: PAYLOAD) => void;` member of BrokerEvents. */
function declaredEvents(): Map<string, string> {
  const body = /export interface BrokerEvents \{([\s\S]*?)\n\}/.exec(source)![1]!;
  return new Map([...body.matchAll(/^ {2}(\w+): \(event: (.+)\) => void;$/gm)].map((m) => [m[1]!, m[2]!]));
}

/** An interface's fields as a one-line object type: `{ a: string; b: number }`. */
function fieldsOf(name: string): string {
  const body = new RegExp(`interface ${name}(?: extends \\w+)? \\{([\\s\\S]*?)\\n\\}`).exec(source)![1]!;
  return `{ ${[...body.matchAll(/readonly (\w+\??: [^;]+);/g)].map((m) => m[1]!).join('; ')} }`;
}

/** The definitions the docs give under the table, as events.ts has them. */
function declaredRefs(): string[] {
  const reason = /export type RedeliveryReason = (.+);/.exec(source)![1]!;
  const rebalanceReason = /export type RebalanceReason = (.+);/.exec(source)![1]!;
  return [
    `\`RecordRef\` is \`${fieldsOf('RecordRef')}\``,
    `\`GroupRecordRef\` is\n\`RecordRef & ${fieldsOf('GroupRecordRef')}\``,
    `\`RedeliveryReason\` is\n\`${reason}\``,
    `\`RebalanceReason\` is\n\`${rebalanceReason}\``,
  ];
}

/** A doc's "Events" section: its heading up to the next heading (other tables have rows of the same shape). */
function eventsSection(doc: string): string {
  const start = /^#{2,3} Events$/m.exec(doc);
  expect(start, 'an "Events" heading').not.toBeNull();
  const rest = doc.slice(start!.index + start![0].length);
  const end = /^#{1,3} /m.exec(rest);
  return end ? rest.slice(0, end.index) : rest;
}

/** Rows `| \`name\` | \`payload\` | ...` of a doc's event table. */
function documentedEvents(doc: string): Map<string, string> {
  return new Map([...eventsSection(doc).matchAll(/^\| `(\w+)` \| `(.+?)` \|/gm)].map((m) => [m[1]!, m[2]!.replaceAll('\\|', '|')]));
}

describe('the docs list the broker events as events.ts declares them', () => {
  it.each(['README.md', 'docs/semantics.md'])('%s', (path) => {
    const doc = read(path);
    const declared = declaredEvents();
    expect(declared.size).toBe(15);
    expect(documentedEvents(doc)).toEqual(declared);
    for (const ref of declaredRefs()) expect(doc).toContain(ref);
  });
});

/** semantics.md says how many events there are in words ("fourteen in all"): held to events.ts's count. */
const COUNT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine', 'ten', 'eleven', 'twelve', 'thirteen', 'fourteen', 'fifteen'];

it('docs/semantics.md gives the number of events events.ts declares', () => {
  const said = /(\w+) in all/.exec(eventsSection(read('docs/semantics.md')).replace(/\s+/g, ' '));
  expect(said?.[1]).toBe(COUNT_WORDS[declaredEvents().size]);
});
