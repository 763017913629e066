/**
 * Every session and listener of one broker: `openSession` (in process) and `listen` (WebSocket)
 * both make their sessions here, so that broker.close() can end them all (END + 1001) before the
 * logs close.
 */
import type { Clock, FramePeer } from '@brook/protocol';
import type { Broker } from '../broker.js';
import { brokerClosedError } from '../ending-errors.js';
import { resolveServerLimits, type ListenOptions, type ServerLimits } from '../config/server-options.js';
import { Session, type BatchLimits } from './session.js';
import { listenWebSocket, type BrookServer } from './ws-server.js';

/** The `code` of the process warning a bug in a request handler raises. */
export const INTERNAL_ERROR_WARNING = 'BROOK_INTERNAL_ERROR';

export interface SessionSettings {
  readonly limits: ServerLimits;
  readonly token: string | undefined;
}

export class SessionHub {
  private readonly sessions = new Set<Session>();
  private readonly servers = new Set<BrookServer>();
  /** listen() calls still binding their port: close() waits for them, so none outlives the broker. */
  private readonly starting = new Set<Promise<unknown>>();
  private closing = false;
  private nextSessionId = 1;
  private readonly inProcess: SessionSettings = { limits: resolveServerLimits(), token: undefined };

  constructor(
    private readonly broker: Broker,
    private readonly clock: Clock,
    private readonly batchLimits: BatchLimits,
  ) {}

  open(peer: FramePeer, remote: string, settings: SessionSettings = this.inProcess): Session {
    const sessionId = `s${this.nextSessionId++}`;
    const session = new Session(this.broker, peer, {
      sessionId, remote, limits: settings.limits, token: settings.token, batchLimits: this.batchLimits, clock: this.clock,
      onInternalError: (error, where) => this.reportInternalError(error, where, sessionId, remote),
      onEnd: (ended) => this.sessions.delete(ended),
    });
    this.sessions.add(session);
    return session;
  }

  listen(options: ListenOptions): Promise<BrookServer> {
    const listening = this.startListening(options);
    const settled = listening.catch(() => undefined);
    this.starting.add(settled);
    void settled.then(() => this.starting.delete(settled));
    return listening;
  }

  private async startListening(options: ListenOptions): Promise<BrookServer> {
    const server = await listenWebSocket(this, this.broker, this.clock, options);
    if (this.closing) {
      // broker.close() ran while the port was being bound: serving a closed broker, the listener
      // would hold its port and its ping timer (the process would not exit) for good.
      await server.close();
      throw brokerClosedError();
    }
    this.servers.add(server);
    return {
      ...server,
      close: async () => {
        this.servers.delete(server);
        await server.close();
      },
    };
  }

  /** Listeners first (their clients get END and 1001), then in-process sessions. */
  async close(): Promise<void> {
    this.closing = true;
    await Promise.all(this.starting);
    const servers = [...this.servers];
    this.servers.clear();
    await Promise.all(servers.map((server) => server.close()));
    for (const session of this.sessions) session.shutdown();
  }

  /**
   * A bug must neither crash a server with other clients nor go unheard: it becomes a process
   * warning (code BROOK_INTERNAL_ERROR), Node's channel for trouble that is not fatal. (Not a
   * broker event: the event table is the delivery engine's, and its test models assume every
   * event names a topic.)
   */
  private reportInternalError(error: unknown, where: string, session: string, remote: string): void {
    const detail = error instanceof Error ? error.stack ?? error.message : String(error);
    process.emitWarning(`internal error in ${where} (session ${session}, ${remote}): ${detail}`, { code: INTERNAL_ERROR_WARNING });
  }
}
