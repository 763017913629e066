/**
 * NATS JetStream peer: a nats-server child with JetStream on (`-js -sd <temp dir>`), one stream per
 * run with file storage, nats.js v3 clients. Produce = js.publish of every value in the batch,
 * awaited together (async publish: each waits for its PubAck, all are on the wire at once);
 * consume = one durable pull consumer (explicit acks) read by two clients, each with its own
 * connection and consume() of up to CONSUMER_WINDOW messages.
 *
 * JetStream acks are fire-and-forget publishes, so "last ack" is the flush (a PING/PONG) after the
 * last ack on each consumer connection: the server has read every ack by then.
 */
import { connect, type NatsConnection } from '@nats-io/transport-node';
import { AckPolicy, jetstream, jetstreamManager, StorageType, type ConsumerMessages } from '@nats-io/jetstream';
import { freePort, removeTempDir, startServer, tempDir } from './processes.js';
import { AckCounter, CONSUMER_WINDOW, type Peer, type PeerRun } from './workload.js';

export interface NatsServer {
  readonly peer: Peer;
  stop(): Promise<void>;
}

async function open(servers: string, stream: string): Promise<PeerRun> {
  const producer = await connect({ servers });
  const js = jetstream(producer);
  const jsm = await jetstreamManager(producer);
  await jsm.streams.add({ name: stream, subjects: [stream], storage: StorageType.File });
  // Room for both consumers' windows, so the server never holds one back.
  await jsm.consumers.add(stream, { durable_name: 'g', ack_policy: AckPolicy.Explicit, max_ack_pending: 2 * CONSUMER_WINDOW });
  const consumers: NatsConnection[] = [];
  const iterators: ConsumerMessages[] = [];
  return {
    async send(values) {
      await Promise.all(values.map((value) => js.publish(stream, value)));
    },
    async startConsumers(expected, onRecord) {
      const acks = new AckCounter(expected);
      let received = 0;
      for (let i = 0; i < 2; i++) {
        const nc = await connect({ servers });
        consumers.push(nc);
        const messages = await jetstream(nc).consumers.get(stream, 'g').then((c) => c.consume({ max_messages: CONSUMER_WINDOW }));
        iterators.push(messages);
        void (async () => {
          for await (const message of messages) {
            onRecord(message.data);
            message.ack();
            if (++received === expected) {
              await Promise.all(consumers.map((c) => c.flush()));
              acks.add(expected);
            }
          }
        })().catch((error) => acks.fail(error));
      }
      return acks;
    },
    async close() {
      for (const messages of iterators) messages.stop();
      for (const nc of consumers) await nc.close();
      await jsm.streams.delete(stream);
      await producer.close();
    },
  };
}

export async function startNats(): Promise<NatsServer> {
  const port = await freePort();
  const dir = tempDir('nats');
  const server = await startServer('nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', dir], port);
  const servers = `127.0.0.1:${port}`;
  // Fail early and clearly if this nats-server was built without JetStream.
  const probe = await connect({ servers });
  await (await jetstreamManager(probe)).getAccountInfo();
  await probe.close();
  return {
    peer: { label: 'nats jetstream file', serverPid: server.pid, open: (name) => open(servers, name) },
    async stop() {
      await server.stop();
      removeTempDir(dir);
    },
  };
}
