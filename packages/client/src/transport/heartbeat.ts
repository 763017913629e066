/**
 * The client's own liveness check on a WebSocket. A peer that vanished without a FIN (a stalled
 * path, a machine gone) leaves the socket open forever: a client with requests pending learns it
 * when they time out, but a pure consumer would wait for deliveries that never come. So every
 * `intervalMs` the client pings; if nothing at all comes back (pong, frame or the server's own
 * ping) within `timeoutMs` of a ping, the connection counts as lost.
 *
 * Unless the server is busy with requestsInFlightMax requests of ours: its session then reads
 * nothing from the socket, our pings included, until one is answered (a slow disk), so its
 * silence says nothing. Those requests have their own deadline (requestTimeoutMs), and once they
 * time out the next ping judges again: a server truly gone is noticed that much later, one that
 * is only slow is not dropped (its subscriptions' deliveries redelivered). The server's idle check
 * excuses the client in the same case.
 */
import type { Clock, Timer } from '@brook/protocol';

export interface HeartbeatPolicy {
  /** Time between pings; 0 sends none. */
  intervalMs: number;
  /** How long after a ping something must have come back. */
  timeoutMs: number;
}

export class Heartbeat {
  private pingTimer: Timer | undefined;
  /** Runs from the first ping nothing has answered yet: a later ping does not push it back. */
  private deadline: Timer | undefined;

  constructor(
    private readonly clock: Clock,
    private readonly policy: HeartbeatPolicy,
    private readonly ping: () => void,
    private readonly lost: (reason: string) => void,
    private readonly serverBusy: () => boolean,
  ) {}

  start(): void {
    if (this.policy.intervalMs === 0) return;
    this.pingTimer = this.clock.setTimer(this.policy.intervalMs, () => this.beat());
  }

  /** Something came from the server: it is there. */
  heard(): void {
    if (this.deadline === undefined) return;
    this.deadline.cancel();
    this.deadline = undefined;
  }

  stop(): void {
    this.pingTimer?.cancel();
    this.deadline?.cancel();
    this.pingTimer = this.deadline = undefined;
  }

  private beat(): void {
    this.ping();
    this.deadline ??= this.clock.setTimer(this.policy.timeoutMs, () => {
      if (this.serverBusy()) {
        this.deadline = undefined; // the next ping starts a new one
        return;
      }
      this.stop();
      this.lost(`nothing from the server within heartbeatTimeoutMs ${this.policy.timeoutMs} ms of a ping`);
    });
    this.start();
  }
}
