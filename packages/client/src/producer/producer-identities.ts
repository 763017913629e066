/**
 * Producer ids for an idempotent producer (docs/protocol.md, initProducer). Every partition
 * starts on one shared id; a partition whose sequence the client can no longer vouch for (a
 * batch timed out with its fate unknown, or the broker forgot the id) moves to a fresh id of its
 * own and restarts its sequence at 0, so no other partition is disturbed.
 */
import type { Connection } from '../connection.js';
import type { ProducerIdentity } from './batch.js';

export class ProducerIdentities {
  private sharedIdentity: Promise<ProducerIdentity> | undefined;

  constructor(private readonly connection: Connection) {}

  /** The producer's id, asked for once (and again only if asking failed). */
  shared(): Promise<ProducerIdentity> {
    if (!this.sharedIdentity) {
      const asked = this.fresh();
      this.sharedIdentity = asked;
      asked.catch(() => {
        if (this.sharedIdentity === asked) this.sharedIdentity = undefined;
      });
    }
    return this.sharedIdentity;
  }

  /** A new producer id at epoch 0. */
  async fresh(): Promise<ProducerIdentity> {
    const { json } = await this.connection.request('initProducer', {});
    return { producerId: BigInt(json.producerId), producerEpoch: json.producerEpoch };
  }
}
