/**
 * @brook/broker: the broker core. `Broker` is the in-process entry point; the log classes are
 * exported for tools (dump, verify) and tests that work on one partition directory.
 */
export { DATA_DIR_LOCK } from './data-dir.js';
export {
  Broker, type BrokerOptions, type FetchRequest, type FetchedRecord, type ProduceResult, type ProduceBatchRequest, type ProduceBatchResult,
} from './broker.js';
export type { InitProducerRequest, ProducerIdentity } from './producers/producer-registry.js';
export { RECENT_BATCHES_PER_PRODUCER } from './producers/producer-entry.js';
export type { ProduceRecord, RecordBytes } from './topics/record-input.js';
export type { CreateTopicOptions, TopicConfig } from './topics/topic.js';
export { isTopicName, validateTopicName, TOPIC_NAME_LENGTH_MAX } from '@brook/protocol';
export { FSYNC_INTERVAL_MS, LIMITS, checkFsyncPolicy, type FsyncPolicy, type Limit } from './config/defaults.js';
export { PartitionLog, type PartitionLogOptions, type AppendResult, type RetentionResult } from './log/partition-log.js';
export type { RecoveryReport } from './log/recovery.js';
export type { RetentionPolicy } from './log/retention.js';
export type { ReadBatch, ReadLimits } from './log/log-reader.js';
export { BrokerEventEmitter, type BrokerEvents, type BrokerEventName, type RedeliveryReason, type RebalanceReason } from './events.js';
export { Delivery } from './groups/delivery.js';
export type { Handler, MessageStream, Subscription } from './groups/subscription.js';
export type { BackoffOptions, GroupConfig, Ordering, StartPosition, SubscribeOptions } from './groups/subscribe-options.js';
export type { GroupDescription, GroupPartitionDescription, InFlightDescription, LogFailureDescription, PartitionDescription, TopicDescription, TopicSettings } from '@brook/protocol';
export type { FailedLog } from './failed-logs.js';
export { DEAD_LETTER_HEADERS, DEAD_LETTER_REASON_BYTES_MAX, DEAD_LETTER_TRAILER_BYTES_MAX, deadLetterRecord } from './groups/dead-letter.js';
export { REDRIVE_GROUP, type RedriveOptions, type RedriveResult } from './groups/redrive.js';
export type { DeliverySink } from './groups/member.js';
export type { AttachedSubscription, SinkControl } from './groups/sink-control.js';
export type { ListenOptions, ServerLimits } from './config/server-options.js';
export { DEFAULT_ALLOWED_HOSTS, DEFAULT_ALLOWED_ORIGINS, DEFAULT_HOST, DEFAULT_PORT } from './config/server-options.js';
export { isLoopbackHost, resolveAllowedHosts, resolveAllowedOrigins } from './server/browser-guard.js';
export type { BrookServer } from './server/ws-server.js';
export { INTERNAL_ERROR_WARNING } from './server/session-hub.js';
export { inspectLog, inspectIndex, type InspectedBatch, type InspectedIndex, type InspectedLog, type IndexEntry, type StorageProblem } from './log/inspect.js';
export { dumpFiles, formatInspected, hex, isoTime, preview, printableText, type Inspected } from './log/dump-format.js';
export { verifyDataDir, verifyLogDir, type DataDirVerification, type LogDirVerification } from './log/verify.js';
