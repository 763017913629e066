/**
 * Redis Streams peer: a redis-server child on a loopback port with AOF on (`appendfsync` switched
 * per peer label with CONFIG SET, same server), ioredis clients. Produce = XADD pipelined, one
 * pipeline per batch; consume = a group of two consumers, each on its own connection, looping
 * XREADGROUP ... COUNT CONSUMER_WINDOW and XACK of every id it read (the XACK is sent before the
 * next XREADGROUP without waiting, as a pipelining client would).
 */
import { Redis } from 'ioredis';
import { freePort, removeTempDir, startServer, tempDir, type ServerProcess } from './processes.js';
import { AckCounter, CONSUMER_WINDOW, type Peer, type PeerRun } from './workload.js';

type AppendFsync = 'everysec' | 'always';
type ReadReply = [Buffer, [Buffer, Buffer[]][]][] | null;

export interface RedisServer {
  peer(appendfsync: AppendFsync): Peer;
  stop(): Promise<void>;
}

async function client(port: number): Promise<Redis> {
  const redis = new Redis({ host: '127.0.0.1', port, lazyConnect: true, maxRetriesPerRequest: 0 });
  await redis.connect();
  return redis;
}

function consumerLoop(redis: Redis, stream: string, name: string, onRecord: (value: Uint8Array) => void,
  acks: AckCounter, stopped: () => boolean): Promise<void> {
  const loop = async () => {
    while (!stopped()) {
      // BLOCK bounds how long a consumer takes to notice the run is over.
      const reply = (await redis.callBuffer('XREADGROUP', 'GROUP', 'g', name, 'COUNT', CONSUMER_WINDOW, 'BLOCK', 50, 'STREAMS', stream, '>')) as ReadReply;
      if (reply === null) continue;
      const entries = reply[0]![1];
      const ids: Buffer[] = [];
      for (const [id, fields] of entries) {
        onRecord(fields[1]!);
        ids.push(id);
      }
      redis.xack(stream, 'g', ...ids).then(() => acks.add(ids.length), (error) => acks.fail(error));
    }
  };
  return loop().catch((error) => acks.fail(error));
}

async function open(port: number, stream: string): Promise<PeerRun> {
  const producer = await client(port);
  const consumers: Redis[] = [];
  const loops: Promise<void>[] = [];
  let stopped = false;
  return {
    async send(values) {
      const pipeline = producer.pipeline();
      for (const value of values) pipeline.xadd(stream, '*', 'v', value);
      const replies = await pipeline.exec();
      const failed = replies?.find(([error]) => error !== null);
      if (failed) throw failed[0];
    },
    async startConsumers(expected, onRecord) {
      await producer.xgroup('CREATE', stream, 'g', '0', 'MKSTREAM');
      const acks = new AckCounter(expected);
      for (const name of ['c1', 'c2']) {
        const redis = await client(port);
        consumers.push(redis);
        loops.push(consumerLoop(redis, stream, name, onRecord, acks, () => stopped));
      }
      return acks;
    },
    async close() {
      stopped = true;
      await Promise.allSettled(loops);
      await producer.del(stream);
      for (const redis of [producer, ...consumers]) redis.disconnect();
    },
  };
}

export async function startRedis(): Promise<RedisServer> {
  const port = await freePort();
  const dir = tempDir('redis');
  // AOF on, no RDB snapshots and no AOF rewrite: both fork, and a forked child's CPU would not be counted.
  const server: ServerProcess = await startServer('redis-server', [
    '--port', String(port), '--bind', '127.0.0.1', '--dir', dir, '--save', '',
    '--appendonly', 'yes', '--appendfsync', 'everysec', '--auto-aof-rewrite-percentage', '0',
  ], port);
  const admin = await client(port);
  await admin.ping();
  return {
    peer(appendfsync) {
      return {
        label: `redis aof ${appendfsync}`,
        serverPid: server.pid,
        async open(name) {
          await admin.config('SET', 'appendfsync', appendfsync);
          return open(port, name);
        },
      };
    },
    async stop() {
      admin.disconnect();
      await server.stop();
      removeTempDir(dir);
    },
  };
}
