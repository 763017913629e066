/**
 * Brook peer: the broker in a child process (brook-server.ts) serving WebSocket on a loopback
 * port, @brook/client in this one. Produce = producer.send of the batch (lingerMs 0: the batch
 * goes out at the end of the tick, as the Redis pipeline and the NATS publishes do); consume = a
 * group of two clients, each on its own connection, subscribed with maxInFlight CONSUMER_WINDOW,
 * ordering 'none' (any record to any free consumer, like a Redis group or a JetStream pull
 * consumer). One partition per topic, as a Redis stream and a JetStream stream are one log.
 */
import { connect, type Client } from '@brook/client';
import { freePort, removeTempDir, startServer, tempDir } from './processes.js';
import { AckCounter, CONSUMER_WINDOW, type Peer, type PeerRun } from './workload.js';

export type BrookFsync = 'never' | 'always';

export interface BrookServer {
  readonly peer: Peer;
  stop(): Promise<void>;
}

async function open(url: string, topic: string): Promise<PeerRun> {
  const client = await connect(url);
  await client.admin.createTopic(topic, { partitions: 1 });
  const producer = client.producer({ lingerMs: 0 });
  const consumers: Client[] = [];
  return {
    async send(values) {
      await producer.send(topic, values.map((value) => ({ value })));
    },
    async startConsumers(expected, onRecord) {
      const acks = new AckCounter(expected);
      for (let i = 0; i < 2; i++) {
        const consumer = await connect(url);
        consumers.push(consumer);
        // ack() here rather than by returning, for its promise: it resolves once the broker made
        // the ack durable (the client sends a tick's acks as one settle request; each ack's
        // promise settles from its answer).
        const countOne = () => acks.add(1);
        const fail = (error: unknown) => acks.fail(error);
        await consumer.subscribe({ topic, group: 'g', ordering: 'none', maxInFlight: CONSUMER_WINDOW }, (message) => {
          onRecord(message.value!);
          message.ack().then(countOne, fail);
        });
      }
      return acks;
    },
    async close() {
      for (const consumer of consumers) await consumer.close();
      await client.admin.deleteTopic(topic);
      await client.close();
    },
  };
}

export async function startBrook(fsync: BrookFsync): Promise<BrookServer> {
  const port = await freePort();
  const dir = tempDir('brook');
  const script = new URL('./brook-server.ts', import.meta.url).pathname;
  // BENCH_PROFILE_DIR=<dir>: the server writes a V8 CPU profile there when it stops, sampled every
  // BENCH_PROFILE_INTERVAL_US (V8's default, 1000 µs, is too coarse for a paced run's short steps).
  const profileDir = process.env['BENCH_PROFILE_DIR'];
  const intervalUs = process.env['BENCH_PROFILE_INTERVAL_US'] ?? '1000';
  const profile = profileDir ? ['--cpu-prof', `--cpu-prof-dir=${profileDir}`, `--cpu-prof-interval=${intervalUs}`] : [];
  // BENCH_BROOK_NODE_FLAGS="--flag …": Node/V8 flags for the server process only (experiments).
  const flags = (process.env['BENCH_BROOK_NODE_FLAGS'] ?? '').split(' ').filter((flag) => flag !== '');
  const server = await startServer(process.execPath, [...flags, ...profile, '--import', 'tsx', script, dir, fsync, String(port)], port);
  return {
    peer: { label: `brook ws fsync ${fsync}`, serverPid: server.pid, open: (name) => open(`ws://127.0.0.1:${port}`, name) },
    async stop() {
      await server.stop();
      removeTempDir(dir);
    },
  };
}
