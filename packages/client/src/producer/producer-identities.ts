/**
 * Producer ids for an idempotent producer (docs/protocol.md, initProducer). Every partition
 * starts on one shared id; a partition whose sequence the client can no longer vouch for (a
 * batch timed out with its fate unknown, or the broker forgot the id) moves to a fresh id of its
 * own and restarts its sequence at 0, so no other partition is disturbed.
 *
 * An id is valid only under the broker data directory's incarnation it was issued under: a
 * broker on a fresh directory issues the same ids again, to other producers. Once the connection
 * is on another incarnation (WELCOME), an id of the old one is void and is asked for again; a
 * batch already numbered under it is refused by the broker (UNKNOWN_PRODUCER_ID) and renumbered.
 * Renumbering is safe then: the log the old numbers were checked against is gone.
 */
import type { Connection } from '../connection.js';
import type { ProducerIdentity } from './batch.js';

export class ProducerIdentities {
  private sharedIdentity: Promise<ProducerIdentity> | undefined;
  /** What sharedIdentity resolved to, once it has. */
  private sharedIssued: ProducerIdentity | undefined;

  constructor(private readonly connection: Connection) {}

  /** The producer's id, asked for once (and again if asking failed or the id became void). */
  shared(): Promise<ProducerIdentity> {
    if (this.sharedIssued && this.isVoid(this.sharedIssued)) this.sharedIdentity = this.sharedIssued = undefined;
    if (!this.sharedIdentity) {
      const asked = this.fresh();
      this.sharedIdentity = asked;
      asked.then((identity) => {
        if (this.sharedIdentity === asked) this.sharedIssued = identity;
      }, () => {
        if (this.sharedIdentity === asked) this.sharedIdentity = undefined;
      });
    }
    return this.sharedIdentity;
  }

  /** A new producer id at epoch 0. */
  async fresh(): Promise<ProducerIdentity> {
    const { json } = await this.connection.request('initProducer', {});
    return { producerId: BigInt(json.producerId), producerEpoch: json.producerEpoch, incarnation: json.incarnation };
  }

  /** Issued under another incarnation than the connected broker's (unknown on either side: not void, as before incarnations). */
  isVoid(identity: ProducerIdentity): boolean {
    const current = this.connection.incarnation;
    return identity.incarnation !== undefined && current !== undefined && identity.incarnation !== current;
  }
}
