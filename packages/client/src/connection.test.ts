import { describe, expect, it } from 'vitest';
import { isBrookError } from '@brook/protocol';
import { FakeServer, openFake, tick } from './fake-server.test-support.js';

describe('Connection', () => {
  it('pairs responses with requests by id, in any order', async () => {
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const topics = connection.request('listTopics', {});
    const described = connection.request('describeTopic', { name: 't' });
    await server.waitForRequests(2);
    server.respond(server.take('describeTopic'), { name: 't', partitions: [] });
    server.respond(server.take('listTopics'), { topics: ['a'] });
    expect((await topics).json).toEqual({ topics: ['a'] });
    expect((await described).json).toEqual({ name: 't', partitions: [] });
  });

  it('maps an ERROR frame to a BrookError with its code; an unknown code keeps its name in details', async () => {
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const known = connection.request('deleteTopic', { name: 'x' });
    const unknown = connection.request('listTopics', {});
    await server.waitForRequests(2);
    server.fail(server.take('deleteTopic'), 'UNKNOWN_TOPIC');
    server.fail(server.take('listTopics'), 'SOMETHING_NEW');
    await expect(known).rejects.toMatchObject({ code: 'UNKNOWN_TOPIC', retriable: false });
    await expect(unknown).rejects.toMatchObject({ code: 'INVALID_REQUEST', details: { serverCode: 'SOMETHING_NEW' } });
  });

  it('times out a request after requestTimeoutMs on its clock, and ignores the late answer', async () => {
    const server = new FakeServer();
    const { connection, clock } = await openFake(server, { requestTimeoutMs: 500 });
    const request = connection.request('listTopics', {});
    await server.waitForRequests(1);
    clock.advance(499);
    clock.advance(1);
    await expect(request).rejects.toMatchObject({ code: 'TIMEOUT', retriable: true, details: { op: 'listTopics', timeoutMs: 500 } });
    server.respond(server.take('listTopics'), { topics: [] });
    await tick();
  });

  it('hands a late answer to onLateResponse, on the session the request was sent on only', async () => {
    const server = new FakeServer();
    const { connection, clock } = await openFake(server, { requestTimeoutMs: 500, reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
    const late: unknown[] = [];
    const onLateResponse = (json: unknown) => void late.push(json);
    const answered = connection.request('listTopics', {}, { onLateResponse });
    const lost = connection.request('describeTopic', { name: 't' }, { onLateResponse });
    await server.waitForRequests(2);
    clock.advance(500);
    await expect(answered).rejects.toMatchObject({ code: 'TIMEOUT' });
    await expect(lost).rejects.toMatchObject({ code: 'TIMEOUT' });
    server.respond(server.take('listTopics'), { topics: ['a'] });
    await tick();
    expect(late).toEqual([{ topics: ['a'] }]);
    const describe = server.take('describeTopic');
    server.drop(1006);
    await tick();
    clock.advance(0);
    await tick();
    expect(connection.session).toBe(2);
    // The id is unknown on the new session: an answer to it goes nowhere.
    server.respond(describe, { name: 't', partitions: [] });
    await tick();
    expect(late).toHaveLength(1);
  });

  it('keeps at most requestsInFlightMax requests unanswered; the rest wait their turn', async () => {
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const requests = Array.from({ length: 6 }, () => connection.request('listTopics', {}));
    await tick();
    expect(server.requests).toHaveLength(4);
    server.respond(server.take('listTopics'), { topics: [] });
    await requests[0];
    await tick();
    expect(server.requests).toHaveLength(4);
    while (server.requests.length > 0) server.respond(server.take('listTopics'), { topics: [] });
    await tick();
    for (const request of server.requests.splice(0)) server.respond(request, { topics: [] });
    await Promise.all(requests);
  });

  it('an unsubscribe, outside the window, still goes after the requests waiting for it (an abort never overtakes its settles)', async () => {
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const fill = Array.from({ length: 4 }, () => connection.request('listTopics', {}));
    const settle = connection.request('settle', { subscription: 1, ack: [[0, 2]] }, { sessionBound: true });
    const abort = connection.request('unsubscribe', { subscription: 1, abort: true }, { sessionBound: true });
    await tick();
    expect(server.requests.map((r) => r.json['op'])).toEqual(['listTopics', 'listTopics', 'listTopics', 'listTopics']);
    server.respond(server.take('listTopics'), { topics: [] });
    await tick();
    expect(server.requests.slice(3).map((r) => r.json['op'])).toEqual(['settle', 'unsubscribe']);
    for (const request of server.requests.splice(0)) server.respond(request, request.json['op'] === 'listTopics' ? { topics: [] } : {});
    await Promise.all([...fill, settle, abort]);
  });

  it('after a drop fails what was sent with DISCONNECTED, reconnects with backoff and sends what waited', async () => {
    const server = new FakeServer();
    const { connection, clock } = await openFake(server, { reconnect: { initialDelayMs: 100, maxDelayMs: 100, jitter: 0 } });
    const downs: string[] = [];
    const readies: number[] = [];
    connection.on('down', (error) => downs.push(error.code));
    connection.on('ready', (session) => readies.push(session));
    const sent = connection.request('listTopics', {});
    const settle = connection.request('settle', { subscription: 1, ack: [[0, 1]] }, { sessionBound: true });
    await server.waitForRequests(2);
    server.drop(1006);
    await expect(sent).rejects.toMatchObject({ code: 'DISCONNECTED', retriable: true });
    await expect(settle).rejects.toMatchObject({ code: 'DISCONNECTED' });
    expect(downs).toEqual(['DISCONNECTED']);
    const later = connection.request('listTopics', {});
    clock.advance(99);
    await tick();
    expect(server.opened).toBe(1);
    clock.advance(1);
    await server.waitForRequests(1);
    expect(server.opened).toBe(2);
    expect(readies).toEqual([2]);
    expect(connection.session).toBe(2);
    server.respond(server.take('listTopics'), { topics: ['back'] });
    expect((await later).json.topics).toEqual(['back']);
  });

  it('fails a session-bound request made while reconnecting with DISCONNECTED instead of sending it on the next session', async () => {
    const server = new FakeServer();
    const { connection, clock } = await openFake(server, { reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
    server.drop(1006);
    await tick();
    const unsubscribe = connection.request('unsubscribe', { subscription: 1 }, { sessionBound: true }).catch((error: unknown) => error);
    const later = connection.request('listTopics', {});
    clock.advance(0);
    await server.waitForRequests(1);
    await tick();
    expect(server.requests.map((frame) => frame.json['op'])).toEqual(['listTopics']);
    expect(await unsubscribe).toMatchObject({ code: 'DISCONNECTED', details: { op: 'unsubscribe' } });
    server.respond(server.take('listTopics'), { topics: [] });
    await later;
  });

  it("refuses a request that waited for a reconnect if it is over the new server's lower frameBytesMax, instead of sending it (1009 would end the client)", async () => {
    const server = new FakeServer();
    const { connection, clock } = await openFake(server, { reconnect: { initialDelayMs: 0, maxDelayMs: 0 } });
    server.drop(1006);
    await tick();
    const frameBytesMax = 1024;
    const data = (bytes: number) => new Uint8Array(bytes);
    // Checked against the old WELCOME's 1 MiB as they were made; the server comes back with 1 KiB.
    const over = connection.request('produce', { topic: 't', partition: 0 }, { data: data(frameBytesMax) }).catch((error: unknown) => error);
    const within = connection.request('produce', { topic: 't', partition: 0 }, { data: data(frameBytesMax - 100) });
    server.limits = { ...server.limits, frameBytesMax };
    clock.advance(0);
    await server.waitForRequests(1);
    await tick();
    expect(server.requests.map((frame) => frame.data.length)).toEqual([frameBytesMax - 100]);
    expect(await over).toMatchObject({ code: 'MESSAGE_TOO_LARGE', retriable: false, details: { op: 'produce', limit: frameBytesMax } });
    server.respond(server.take('produce'), { baseOffset: '0' });
    await within;
    expect(connection.isOpen).toBe(true);
  });

  it('does not reconnect after a refusal that will not heal (4001): everything fails UNAUTHORIZED', async () => {
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const closed = new Promise((resolve) => connection.once('closed', resolve));
    const pending = connection.request('listTopics', {});
    await server.waitForRequests(1);
    server.drop(4001, 'unauthorized');
    await expect(pending).rejects.toMatchObject({ code: 'UNAUTHORIZED', retriable: false });
    expect(isBrookError(await closed, 'UNAUTHORIZED')).toBe(true);
    await expect(connection.request('listTopics', {})).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
  });

  it('refuses the handshake with the ERROR the server sent before closing', async () => {
    const server = new FakeServer();
    server.refuse = { code: 'UNAUTHORIZED', closeCode: 4001 };
    await expect(openFake(server)).rejects.toMatchObject({ code: 'UNAUTHORIZED' });
    server.refuse = undefined;
    server.unreachable = true;
    await expect(openFake(server)).rejects.toMatchObject({ code: 'DISCONNECTED' });
  });

  it('gives up after reconnect.attemptsMax failed attempts', async () => {
    const server = new FakeServer();
    const { connection, clock } = await openFake(server, { reconnect: { initialDelayMs: 10, maxDelayMs: 10, jitter: 0, attemptsMax: 2 } });
    const closed = new Promise((resolve) => connection.once('closed', resolve));
    server.unreachable = true;
    server.drop(1001);
    await tick();
    for (let i = 0; i < 2; i++) {
      clock.advance(10);
      await tick();
    }
    expect(await closed).toMatchObject({ code: 'DISCONNECTED', details: { attempts: 2 } });
  });

  it('close() fails pending requests with CLOSED and refuses new ones', async () => {
    const server = new FakeServer();
    const { connection } = await openFake(server);
    const pending = connection.request('listTopics', {});
    connection.close();
    await expect(pending).rejects.toMatchObject({ code: 'CLOSED' });
    await expect(connection.request('listTopics', {})).rejects.toMatchObject({ code: 'CLOSED' });
  });
});
