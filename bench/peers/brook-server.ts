/**
 * The Brook server for the peer benchmark, in its own process so its CPU time is measured apart
 * from the client's, like redis-server's and nats-server's:
 *
 *   node --import tsx bench/peers/brook-server.ts <dataDir> <never|always> <port>
 *
 * Prints the URL once listening; closes the broker on SIGTERM.
 */
import { Broker } from '@brook/broker';

const [dataDir, fsync, port] = process.argv.slice(2);
if (dataDir === undefined || (fsync !== 'never' && fsync !== 'always') || port === undefined) {
  throw new Error('usage: brook-server.ts <dataDir> <never|always> <port>');
}
const broker = await Broker.open({ dataDir, fsync });
await broker.listen({ port: Number(port), host: '127.0.0.1' });
console.log(`ws://127.0.0.1:${port}`);
process.once('SIGTERM', () => {
  void broker.close().then(() => process.exit(0));
});
