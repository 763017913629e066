/**
 * @brook/client: connect to a Brook broker over WebSocket or in process, produce, consume and
 * administer topics and groups.
 *
 * ```ts
 * import { connect } from '@brook/client';
 * await using client = await connect('ws://127.0.0.1:7070');        // or connect(broker)
 * await client.admin.createTopic('orders', { partitions: 3 });
 * const producer = client.producer();                                // idempotent by default
 * await producer.send('orders', [{ key: 'u1', value: { total: 12 } }]);  // objects → stable JSON
 * await client.subscribe({ topic: 'orders', group: 'billing' }, async (msg) => {
 *   handle(msg.json());                                              // resolve = ack, throw = nack
 * });
 * for await (const msg of client.consume({ topic: 'orders', group: 'audit' })) msg.ack();
 * ```
 */
export { connect } from './connect.js';
export { Client, type ClientEvents } from './client.js';
export { Admin, type CreateTopicOptions } from './admin.js';
export { Producer, type SendOptions } from './producer/producer.js';
export type { ProduceResult } from './producer/send-ticket.js';
export {
  WalProducer, type WalOptions, type WalProducerEvents, type WalProducerOptions, type WalProducerStats, type WalSendResult,
} from './producer/wal-producer.js';
export { forgetWalProducerId, type ForgetWalProducerIdOptions, type ForgottenProducerId } from './producer/forget-producer-id.js';
export type { PoisonReport, SentPart } from './producer/wal-sender.js';
export type { RetryReport } from './producer/transmit.js';
export { Message } from './consumer/message.js';
export { Subscription } from './consumer/subscription.js';
export type { SubscribeOptions } from './consumer/subscribe-options.js';
export type { Handler } from './consumer/message-sink.js';
export { MessageStream } from './consumer/message-stream.js';
export type { StartPosition } from './consumer/start-position.js';
export type { ProducerRecord, RecordBytes, RecordValue } from './values.js';
export { DEFAULTS, type BackoffPolicy, type ConnectOptions, type ProducerOptions, type ReconnectPolicy } from './options.js';
export type { Transport, TransportFactory, TransportHandlers } from './transport/transport.js';
export { BrookError, isBrookError, type ErrorCode, type FetchRequest, type GroupDescription, type GroupPartitionDescription, type InFlightDescription, type LogFailureDescription, type LogRecord, type PartitionDescription, type TopicDescription, type TopicSettings, type RecordHeader, type SessionHost } from '@brook/protocol';
export * from './wal/index.js';
