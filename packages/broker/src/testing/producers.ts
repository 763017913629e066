/**
 * The simulation's producers: the produce steps, each at its virtual time, and the records a
 * handler produces (`ctx.produce`, a stream processor's output). Every record gets an id (`r1`,
 * `r2`, ...: the steps' records first, in step order, then handler output in call order) in the
 * `brook.sim.id` header, so the history can follow it through the broker.
 *
 * Steps naming the same `producer` run one after another, as one producer's sends do: a step
 * waits for the one before it, retries included. With `retryAfterMs` a retriable refusal (a full
 * topic's TOPIC_FULL) is retried until it succeeds, so backpressure slows the producer down
 * instead of losing records.
 */
import { BrookError } from '@brook/protocol';
import type { Broker, ProduceResult } from '../broker.js';
import type { ProduceRecord } from '../topics/record-input.js';
import { SIM_ID_HEADER, type History } from './history.js';

export interface ProduceStep {
  topic: string;
  records: ProduceRecord[];
  /** Virtual time of the produce call. Default 0. */
  atMs?: number;
  /** Steps of one named producer run in order, each after the one before has finished. */
  producer?: string;
  /** A retriable failure (TOPIC_FULL) is retried after this many ms until it succeeds. Default: no retry. */
  retryAfterMs?: number;
}

/** What the producers need from the simulation. */
export interface ProducerHost {
  readonly history: History;
  readonly broker: Broker;
  readonly brokerEpoch: number;
  later(ms: number, action: () => unknown): unknown;
  /** Remembers which record id sits at an offset, for naming broker events. */
  named(topic: string, partition: number, offset: bigint, id: string): void;
}

interface Call {
  readonly step: number;
  readonly topic: string;
  readonly ids: string[];
  readonly producer: string | undefined;
}

export class SimProducers {
  /** Produce calls the broker has not answered yet, by call number. */
  private readonly producing = new Map<number, Call>();
  private readonly chains = new Map<string, Promise<void>>();
  /** Steps waiting in a producer's chain for the step before them. */
  private queued = 0;
  private calls = 0;
  private handlerCalls = 0;
  private nextId: number;

  constructor(private readonly host: ProducerHost, private readonly steps: readonly ProduceStep[]) {
    this.nextId = steps.reduce((sum, step) => sum + step.records.length, 0) + 1;
  }

  /** True while a produce call is unanswered or a step waits for its producer. */
  get busy(): boolean {
    return this.producing.size > 0 || this.queued > 0;
  }

  /** Schedules every step; returns the work of each for the simulation to watch. */
  start(watch: (work: Promise<unknown>) => void): void {
    let first = 1;
    this.steps.forEach((step, index) => {
      const ids = step.records.map((_, i) => `r${first + i}`);
      first += step.records.length;
      this.host.later(step.atMs ?? 0, () => watch(this.enqueue(step, index + 1, ids)));
    });
  }

  /** A handler's produce: the records go out now; the promise rejects if they may not be in the log. */
  async produceFrom(consumer: string, topic: string, records: ProduceRecord[]): Promise<ProduceResult[]> {
    const ids = records.map(() => `r${this.nextId++}`);
    const result = await this.attempt({ step: this.steps.length + ++this.handlerCalls, topic, ids, producer: consumer }, records, undefined);
    if (typeof result === 'string') throw new BrookError('CLOSED', `produce to ${topic} did not complete: ${result}`, { topic });
    return result;
  }

  /** After a broker restart: a produce waiting on the dead broker never answers, so it is indeterminate. */
  brokerRestarted(): void {
    for (const call of this.producing.values()) {
      this.host.history.record({
        type: 'produceFailed', step: call.step, topic: call.topic, ids: call.ids, error: 'broker restarted before answering', indeterminate: true, ...by(call.producer),
      });
    }
    this.producing.clear();
  }

  private enqueue(step: ProduceStep, number: number, ids: string[]): Promise<void> {
    const call: Call = { step: number, topic: step.topic, ids, producer: step.producer };
    if (step.producer === undefined) return this.send(step, call);
    this.queued += 1;
    const previous = this.chains.get(step.producer) ?? Promise.resolve();
    const next = previous.then(() => {
      this.queued -= 1;
      return this.send(step, call);
    });
    this.chains.set(step.producer, next);
    return next;
  }

  private async send(step: ProduceStep, call: Call): Promise<void> {
    while ((await this.attempt(call, step.records, step.retryAfterMs)) === 'retry') {
      await new Promise<void>((resolve) => this.host.later(step.retryAfterMs!, resolve));
    }
  }

  /** One produce call: its results, 'retry', or why it failed. */
  private async attempt(call: Call, records: ProduceRecord[], retryAfterMs: number | undefined): Promise<ProduceResult[] | 'retry' | string> {
    const { step, topic, ids, producer } = call;
    this.host.history.record({ type: 'produce', step, topic, ids, ...by(producer) });
    const epoch = this.host.brokerEpoch;
    const key = ++this.calls;
    this.producing.set(key, call);
    try {
      const results = await this.host.broker.produce(topic, records.map((record, i) => withId(record, ids[i]!)));
      if (epoch !== this.host.brokerEpoch) return 'broker restarted';
      const produced = results.map((r, i) => {
        this.host.named(topic, r.partition, r.offset, ids[i]!);
        return { id: ids[i]!, key: keyText(records[i]!), partition: r.partition, offset: Number(r.offset) };
      });
      this.host.history.record({ type: 'produced', step, topic, records: produced, ...by(producer) });
      return results;
    } catch (error) {
      if (epoch !== this.host.brokerEpoch) return 'broker restarted';
      const retriable = error instanceof BrookError ? error.retriable : true;
      const retry = retriable && retryAfterMs !== undefined;
      this.host.history.record({
        type: 'produceFailed', step, topic, ids, error: String(error), ...(error instanceof BrookError ? { code: error.code } : {}),
        indeterminate: retriable && !retry, ...by(producer), ...(retry ? { retryAfterMs } : {}),
      });
      return retry ? 'retry' : String(error);
    } finally {
      if (epoch === this.host.brokerEpoch) this.producing.delete(key);
    }
  }
}

function by(producer: string | undefined): { producer?: string } {
  return producer === undefined ? {} : { producer };
}

const utf8 = new TextDecoder();

function withId(record: ProduceRecord, id: string): ProduceRecord {
  const headers = record.headers === undefined ? [] : Array.isArray(record.headers)
    ? record.headers : Object.entries(record.headers).map(([key, value]) => ({ key, value: typeof value === 'string' ? new TextEncoder().encode(value) : value }));
  return { ...record, headers: [...headers, { key: SIM_ID_HEADER, value: new TextEncoder().encode(id) }] };
}

function keyText(record: ProduceRecord): string | null {
  const key = record.key ?? null;
  return key === null ? null : typeof key === 'string' ? key : utf8.decode(key);
}
