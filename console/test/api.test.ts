// The API client against a real HTTP server (node:http) that answers as the gateway does.
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Api, ApiError, queryString, wsUrl } from '../src/lib/api';

let server: Server;
let base = '';
const seen: { method: string; url: string; auth: string; body: string }[] = [];

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = '';
    req.on('data', (c) => (body += c));
    req.on('end', () => {
      seen.push({ method: req.method ?? '', url: req.url ?? '', auth: req.headers.authorization ?? '', body });
      res.setHeader('Content-Type', 'application/json');
      if (req.headers.authorization !== 'Bearer good') {
        res.statusCode = 401;
        res.end(JSON.stringify({ code: 'UNAUTHENTICATED', message: 'token: expired' }));
      } else if (req.url?.startsWith('/v1/rooms/1/comments')) {
        res.statusCode = 403;
        res.end(JSON.stringify({ code: 'PERMISSION_DENIED', message: 'muted: you are muted in this room', reason: 'muted' }));
      } else if (req.url?.startsWith('/v1/missing')) {
        res.statusCode = 404;
        res.end(JSON.stringify({ code: 'NOT_FOUND', message: 'room 9: not found' }));
      } else {
        res.end(JSON.stringify({ ok: true, echo: body ? JSON.parse(body) : null }));
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

describe('Api', () => {
  it('sends the bearer token and JSON, and returns the answer', async () => {
    const api = new Api({ base, token: () => 'good' });
    const res = await api.post('/v1/rooms', { title: '春季' });
    expect(res.echo).toEqual({ title: '春季' });
    const last = seen[seen.length - 1];
    expect(last.auth).toBe('Bearer good');
    expect(last.method).toBe('POST');
    await api.get('/v1/rooms', { page_size: 5, status: undefined });
    expect(seen[seen.length - 1].url).toBe('/v1/rooms?page_size=5');
  });
  it('turns errors into ApiError with the gateway code', async () => {
    const api = new Api({ base, token: () => 'good' });
    await expect(api.get('/v1/missing')).rejects.toMatchObject({ status: 404, code: 'NOT_FOUND', message: 'room 9: not found' });
  });
  it('keeps the refusal reason of an interaction answer', async () => {
    const api = new Api({ base, token: () => 'good' });
    await expect(api.post('/v1/rooms/1/comments', { client_id: 'c-1', text: 'hi' })).rejects.toMatchObject({ status: 403, reason: 'muted' });
    await expect(api.get('/v1/missing')).rejects.toMatchObject({ reason: '' });
  });
  it('calls onUnauthorized on a 401 and still rejects', async () => {
    let called: ApiError | null = null;
    const api = new Api({ base, token: () => 'stale', onUnauthorized: (e) => (called = e) });
    await expect(api.get('/v1/rooms')).rejects.toBeInstanceOf(ApiError);
    expect(called).not.toBeNull();
    expect(called!.message).toBe('token: expired');
  });
  it('reports a server that is not there as UNAVAILABLE', async () => {
    const api = new Api({ base: 'http://127.0.0.1:1', token: () => 'good' });
    await expect(api.get('/v1/rooms')).rejects.toMatchObject({ status: 0, code: 'UNAVAILABLE' });
  });
});

describe('urls', () => {
  it('builds query strings and WebSocket URLs', () => {
    expect(queryString({ a: '1', b: '', c: undefined, d: 2 })).toBe('?a=1&d=2');
    expect(queryString({})).toBe('');
    expect(wsUrl('/v1/rooms/3/ws', { access_token: 'lc1.x.y', invite_token: undefined }, { protocol: 'http:', host: '127.0.0.1:8080' })).toBe('ws://127.0.0.1:8080/v1/rooms/3/ws?access_token=lc1.x.y');
    expect(wsUrl('/v1/alerts/ws', {}, { protocol: 'https:', host: 'x.cn' })).toBe('wss://x.cn/v1/alerts/ws');
  });
});
