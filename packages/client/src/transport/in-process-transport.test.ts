import { describe, expect, it } from 'vitest';
import type { FramePeer, SessionHost } from '@brook/protocol';
import { tick } from '../fake-server.test-support.js';
import { inProcessTransport } from './in-process-transport.js';

/** A host whose session answers every client frame with frame [7], then runs `after` (given the peer). */
function answeringHost(after: (peer: FramePeer) => void): SessionHost {
  return {
    openSession: (peer) => ({
      receive: () => {
        peer.send(Uint8Array.of(7));
        after(peer);
      },
      disconnected: () => undefined,
    }),
  };
}

async function exchange(after: (peer: FramePeer, terminate: () => void) => void): Promise<string[]> {
  const events: string[] = [];
  const transport = await inProcessTransport(answeringHost((peer) => after(peer, () => transport.terminate()))).open({
    frame: (bytes) => void events.push(`frame ${bytes[0]}`),
    closed: (code) => void events.push(`closed ${code}`),
    serverBusy: () => false,
  });
  transport.send(Uint8Array.of(1));
  await tick();
  return events;
}

describe('inProcessTransport', () => {
  it('hands the client the frames a closing server sent before its close, as a socket would', async () => {
    expect(await exchange((peer) => peer.close(1001, 'going away'))).toEqual(['frame 7', 'closed 1001']);
  });

  it('drops frames a server sends after its own close, as a closed socket would', async () => {
    const late = (peer: FramePeer) => {
      peer.close(1001, 'going away');
      peer.send(Uint8Array.of(8));
    };
    expect(await exchange(late)).toEqual(['frame 7', 'closed 1001']);
  });

  it('loses the frames still on their way when the connection drops', async () => {
    expect(await exchange((_peer, terminate) => terminate())).toEqual(['closed 1006']);
  });
});
