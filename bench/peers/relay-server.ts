/**
 * The floor for Brook over WebSocket: a `ws` server that relays, with no broker behind it, in its
 * own process like every peer's server:
 *
 *   node --import tsx bench/peers/relay-server.ts <port>
 *
 * Frames (binary; u32 little endian):
 *   PUBLISH   = 1 id values        -> OK id to the sender, DELIVER values to the next consumer
 *   DELIVER   = 3 values               (the consumers of the sender's topic, in turn)
 *   ACK       = 4 id count          -> OK id to the sender
 *   SUBSCRIBE = 5                   -> OK 0; this connection becomes a consumer of its topic
 *   OK        = 2 id
 *   values    = count (length bytes){count}
 * A connection's topic is its URL path: ws://host:port/<topic>.
 *
 * What it leaves out is what Brook adds: a log, offsets, acks that mean anything, flow control.
 * So its rate and latency are what ws and the two processes cost by themselves.
 */
import { WebSocketServer, type WebSocket } from 'ws';

const port = Number(process.argv[2]);
if (!Number.isInteger(port)) throw new Error('usage: relay-server.ts <port>');

const consumers = new Map<string, WebSocket[]>();
const turn = new Map<string, number>();

function ok(socket: WebSocket, id: number): void {
  const frame = Buffer.allocUnsafe(5);
  frame[0] = 2;
  frame.writeUInt32LE(id, 1);
  socket.send(frame);
}

function relay(topic: string, frame: Buffer): void {
  const group = consumers.get(topic);
  if (group === undefined || group.length === 0) return;
  const next = turn.get(topic) ?? 0;
  turn.set(topic, (next + 1) % group.length);
  // The values travel as they came: DELIVER is PUBLISH without the id.
  const deliver = frame.subarray(4);
  deliver[0] = 3;
  group[next % group.length]!.send(deliver);
}

const server = new WebSocketServer({ port, host: '127.0.0.1', perMessageDeflate: false });
server.on('connection', (socket, request) => {
  const topic = (request.url ?? '/').slice(1);
  socket.on('message', (data: Buffer) => {
    const type = data[0];
    if (type === 1) {
      ok(socket, data.readUInt32LE(1));
      relay(topic, data);
    } else if (type === 4) {
      ok(socket, data.readUInt32LE(1));
    } else if (type === 5) {
      const group = consumers.get(topic) ?? [];
      group.push(socket);
      consumers.set(topic, group);
      socket.once('close', () => consumers.set(topic, (consumers.get(topic) ?? []).filter((s) => s !== socket)));
      ok(socket, 0);
    }
  });
});
server.on('listening', () => console.log(`ws://127.0.0.1:${port}`));
process.once('SIGTERM', () => server.close(() => process.exit(0)));
