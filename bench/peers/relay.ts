/**
 * The raw WebSocket relay (relay-server.ts) as a peer: the same workload with nothing but `ws` and
 * two processes in the way, so Brook's figures can be read against the floor of its own transport
 * measured in the same run. A send is one PUBLISH frame of the batch, resolved by its OK; the two
 * consumers take DELIVER frames in turn and ack each with one ACK frame, counted at its OK.
 */
import WebSocket from 'ws';
import { freePort, startServer } from './processes.js';
import { AckCounter, type Peer, type PeerRun } from './workload.js';

export interface RelayServer {
  readonly peer: Peer;
  stop(): Promise<void>;
}

/** One connection with numbered requests answered by OK frames. */
class RelayConnection {
  private nextId = 1;
  private readonly waiting = new Map<number, (error?: Error) => void>();
  onDeliver: (frame: Buffer) => void = () => undefined;

  private constructor(private readonly socket: WebSocket) {
    socket.on('message', (data: Buffer) => {
      if (data[0] === 3) this.onDeliver(data);
      else if (data[0] === 2) this.settle(data.readUInt32LE(1));
    });
    socket.on('close', () => {
      for (const done of this.waiting.values()) done(new Error('relay connection closed'));
      this.waiting.clear();
    });
  }

  static async open(url: string): Promise<RelayConnection> {
    const socket = new WebSocket(url, { perMessageDeflate: false });
    await new Promise((resolve, reject) => {
      socket.once('open', resolve);
      socket.once('error', reject);
    });
    return new RelayConnection(socket);
  }

  /** Sends `type id` + body and resolves at the OK for that id (SUBSCRIBE's is 0). */
  request(type: number, body: Buffer, id = this.nextId++): Promise<void> {
    const head = Buffer.allocUnsafe(5);
    head[0] = type;
    head.writeUInt32LE(id, 1);
    this.socket.send(body.length === 0 ? head : Buffer.concat([head, body]));
    return new Promise((resolve, reject) => this.waiting.set(id, (error) => (error ? reject(error) : resolve())));
  }

  close(): void {
    this.socket.close();
  }

  private settle(id: number): void {
    const done = this.waiting.get(id);
    this.waiting.delete(id);
    done?.();
  }
}

function encodeValues(values: Buffer[]): Buffer {
  let bytes = 4;
  for (const value of values) bytes += 4 + value.length;
  const body = Buffer.allocUnsafe(bytes);
  body.writeUInt32LE(values.length, 0);
  let at = 4;
  for (const value of values) {
    body.writeUInt32LE(value.length, at);
    value.copy(body, at + 4);
    at += 4 + value.length;
  }
  return body;
}

/** Calls `onRecord` for each value of a DELIVER frame (`3 values`); returns the count. */
function eachValue(frame: Buffer, onRecord: (value: Uint8Array) => void): number {
  const count = frame.readUInt32LE(1);
  let at = 5;
  for (let i = 0; i < count; i++) {
    const length = frame.readUInt32LE(at);
    onRecord(frame.subarray(at + 4, at + 4 + length));
    at += 4 + length;
  }
  return count;
}

async function open(url: string): Promise<PeerRun> {
  const producer = await RelayConnection.open(url);
  const consumers: RelayConnection[] = [];
  return {
    send: (values) => producer.request(1, encodeValues(values)),
    async startConsumers(expected, onRecord) {
      const acks = new AckCounter(expected);
      for (let i = 0; i < 2; i++) {
        const consumer = await RelayConnection.open(url);
        consumers.push(consumer);
        consumer.onDeliver = (frame) => {
          const count = eachValue(frame, onRecord);
          const body = Buffer.allocUnsafe(4);
          body.writeUInt32LE(count, 0);
          consumer.request(4, body).then(() => acks.add(count), (error) => acks.fail(error));
        };
        await consumer.request(5, Buffer.alloc(0), 0);
      }
      return acks;
    },
    async close() {
      for (const connection of [producer, ...consumers]) connection.close();
    },
  };
}

export async function startRelay(): Promise<RelayServer> {
  const port = await freePort();
  const script = new URL('./relay-server.ts', import.meta.url).pathname;
  const server = await startServer(process.execPath, ['--import', 'tsx', script, String(port)], port);
  return {
    peer: { label: 'raw ws relay', serverPid: server.pid, open: (name) => open(`ws://127.0.0.1:${port}/${name}`) },
    stop: () => server.stop(),
  };
}
