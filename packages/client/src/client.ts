/**
 * A connected client: producers, subscriptions (handler or for-await), admin. Obtain one with
 * connect(). The same API works over WebSocket and in process.
 *
 * Events (eventemitter3): `disconnected` (error) when the connection drops and reconnecting
 * begins; `reconnected` (session) once it is back, subscriptions resubscribed and unanswered
 * produce batches resent; `closed` (error | undefined) when the client is done for good.
 */
import { EventEmitter } from 'eventemitter3';
import { BrookError, handlerRefusal, MAX_IN_FLIGHT_DEFAULT, type Clock, type FetchRequest, type LogRecord, type Random } from '@brook/protocol';
import { Admin } from './admin.js';
import { fetchRecords } from './fetch.js';
import type { Connection } from './connection.js';
import { handlerSink } from './consumer/handler-sink.js';
import { MessageStream } from './consumer/message-stream.js';
import type { Handler } from './consumer/message-sink.js';
import { checkSubscribeOptions, type SubscribeOptions } from './consumer/subscribe-options.js';
import { Subscription } from './consumer/subscription.js';
import { resolveProducerOptions, type ProducerOptions } from './options.js';
import { Producer } from './producer/producer.js';
import { TopicPartitions } from './producer/topic-partitions.js';
import { WalProducer, type WalProducerOptions } from './producer/wal-producer.js';
import { nextTurn } from './next-turn.js';

export interface ClientEvents {
  disconnected: (error: BrookError) => void;
  reconnected: (session: number) => void;
  closed: (error: BrookError | undefined) => void;
}

export class Client extends EventEmitter<ClientEvents> implements AsyncDisposable {
  /** Topics and groups: create, delete, list, describe, reset, redrive. */
  readonly admin: Admin;
  private readonly topics: TopicPartitions;
  private readonly producers = new Set<Producer | WalProducer>();
  private readonly subscriptions = new Set<Subscription>();
  private closing: Promise<void> | undefined;
  /**
   * The connection for new work (admin, fetch): refused with CLOSED once close() began, as
   * subscribe, consume and producer are. The drain's own requests go on the connection itself.
   */
  private readonly newWork: Pick<Connection, 'request'> = {
    request: (op, args, options) => (this.closing ? Promise.reject(closingError()) : this.connection.request(op, args, options)),
  };

  constructor(
    private readonly connection: Connection,
    private readonly clock: Clock,
    private readonly random: Random,
  ) {
    super();
    this.topics = new TopicPartitions(connection);
    this.admin = new Admin(this.newWork, this.topics);
    connection.on('down', (error) => this.emit('disconnected', error));
    connection.on('ready', (session) => this.emit('reconnected', session));
    connection.on('closed', (error) => this.emit('closed', error));
  }

  /**
   * A producer with its own batches and producer id (idempotent unless `idempotent: false`).
   * With `wal`, a WalProducer: send() resolves once the records are in a crash-safe write-ahead
   * log in `wal.dir`, a background sender delivers them exactly once, across crashes too
   * (docs/wal.md). Throws INVALID_CONFIG for a bad option, CLOSED once close() began.
   */
  producer(options: WalProducerOptions): WalProducer;
  producer(options?: ProducerOptions): Producer;
  producer(options: ProducerOptions | WalProducerOptions = {}): Producer | WalProducer {
    // close() flushes the producers it found when it began: a later one would not be flushed.
    if (this.closing) throw closingError();
    const onClose = (closed: Producer | WalProducer): void => void this.producers.delete(closed);
    let producer: Producer | WalProducer;
    if ('wal' in options) {
      producer = new WalProducer(this.connection, this.topics, options, this.clock, this.random, onClose);
    } else {
      producer = new Producer(this.connection, this.topics, resolveProducerOptions(options), this.clock, this.random, onClose);
    }
    this.producers.add(producer);
    return producer;
  }

  /**
   * Joins `options.group` on `options.topic` (or, without a group, reads the tail) and runs
   * `handler` for each message: resolve = ack, throw = nack with the group's backoff. Resolves
   * once the broker accepted the subscription; handlers start after that (the next turn of the
   * event loop), so a handler may use the subscription, as in process. Rejects with `options.signal`'s reason if it is
   * aborted before then, at once, as send() does; the broker's answer, when it comes, is undone.
   * Rejects with CLOSED once close() began: the drain would not wait for a member joining after it.
   */
  async subscribe(options: SubscribeOptions, handler: Handler): Promise<Subscription> {
    const refused = handlerRefusal(handler);
    if (refused) throw refused;
    // Before `options` is read: null is INVALID_CONFIG, as in process, not a TypeError.
    checkSubscribeOptions(options);
    const { signal } = options;
    if (signal?.aborted) throw signal.reason;
    const sink = handlerSink(handler, options.maxInFlight ?? MAX_IN_FLIGHT_DEFAULT, { held: true });
    const subscription = new Subscription(this.connection, options, sink, this.subscriptions);
    const started = subscription.start(this.refusal());
    await (signal ? untilAborted(started, signal) : started);
    // Handlers start once the caller holds its subscription, as in process (a handler may close
    // it): over a socket the DELIVER frames right behind the answer are read before the caller's
    // await resumes. A macrotask comes after that await, whatever the microtasks in between.
    nextTurn(() => sink.open());
    return subscription;
  }

  /**
   * The for-await form: `for await (const msg of client.consume({ topic, group })) await msg.ack()`.
   * Once close() began, the loop ends with CLOSED (`ready` and next() reject), as subscribe() does.
   */
  consume(options: SubscribeOptions): MessageStream {
    return new MessageStream(this.connection, options, this.subscriptions, this.refusal());
  }

  /**
   * Reads up to `maxRecords` records of one partition from `offset`, with no group (nothing is
   * acked or remembered), as Broker.fetch does in process: empty at the partition's endOffset,
   * OFFSET_OUT_OF_RANGE outside [startOffset, endOffset]; CLOSED once close() began.
   */
  fetch(request: FetchRequest): Promise<LogRecord[]> {
    return fetchRecords(this.newWork, request);
  }

  /** True once close() began or the connection ended for good. */
  get closed(): boolean {
    return this.closing !== undefined || this.connection.isClosed;
  }

  /**
   * Drains, then closes the connection with 1000: flushes every producer (a WAL producer only
   * stops: its WAL keeps what is unsent for the next open), closes every
   * subscription gracefully (pending settlements sent, the server lets each member go once what
   * it holds is settled; a server that has not answered requestTimeoutMs after that has the
   * connection cut). Errors while draining do not stop the close. Resolves once the socket
   * is gone: a server that does not answer the close within closeTimeoutMs has it dropped.
   * From the call on, new work is refused with CLOSED: producer(), subscribe(), consume(),
   * fetch() and admin calls.
   */
  close(): Promise<void> {
    this.closing ??= this.drainAndClose();
    return this.closing;
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.close();
  }

  /**
   * Drops the current connection without a closing handshake, as a network failure would: the
   * client reconnects, resubscribes and resends. For tests and failure drills.
   */
  dropConnection(): void {
    this.connection.terminate();
  }

  /** Why a subscription must not start: close() began. */
  private refusal(): BrookError | undefined {
    return this.closing && closingError();
  }

  private async drainAndClose(): Promise<void> {
    try {
      await Promise.allSettled([...this.producers].map((producer) => producer.close()));
      await Promise.allSettled([...this.subscriptions].map((subscription) => subscription.close()));
    } finally {
      await this.connection.close();
    }
  }
}

function closingError(): BrookError {
  return new BrookError('CLOSED', 'the client is closing');
}

/**
 * `started`, unless `signal` aborts first: then its reason at once. The caller never gets the
 * subscription, which closes itself on that abort (Subscription listens to the signal too).
 */
function untilAborted(started: Promise<void>, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => reject(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    void started.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}
