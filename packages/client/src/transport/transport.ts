/**
 * The transport seam: a bidirectional pipe of whole frames. The connection above it speaks the
 * protocol (docs/protocol.md) and never knows whether the frames cross a WebSocket or stay in
 * process; that is what lets one client code path and one test suite serve both.
 */

export interface TransportHandlers {
  /** One frame from the server. The bytes may be a view into a larger buffer; do not keep them mutable. */
  frame(bytes: Uint8Array): void;
  /** The connection ended (by either side, or dropped). Called at most once, never after close(). */
  closed(code: number, reason: string): void;
  /**
   * True while the server holds requestsInFlightMax requests of ours: it reads nothing from the
   * connection then, pings included, so silence is its being busy, not gone (the heartbeat's rule).
   */
  serverBusy(): boolean;
}

export interface Transport {
  /** Sends one frame. The transport owns the bytes from here on: the caller must not change them. */
  send(frame: Uint8Array): void;
  /**
   * Ends the connection with a close code; `closed` is not called for it. Resolves once the
   * connection is gone: the server answered the close, or it was dropped after the close timeout.
   */
  close(code: number, reason: string): Promise<void>;
  /** Drops the connection without a closing handshake, as a crash or a cut cable would (for tests). */
  terminate(): void;
}

export interface TransportFactory {
  /** For messages: the URL, or "in-process". */
  readonly description: string;
  /**
   * Opens one connection; rejects with BrookError DISCONNECTED if it cannot be opened, or with
   * `signal`'s reason once it aborts, leaving nothing open.
   */
  open(handlers: TransportHandlers, signal?: AbortSignal): Promise<Transport>;
}
