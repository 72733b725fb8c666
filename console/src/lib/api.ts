// The gateway's public /v1 API. Every call carries the signed-in user's token; a 401 calls
// onUnauthorized (the app returns to the login page, keeping what was typed).

export class ApiError extends Error {
  constructor(
    public status: number,
    public code: string,
    message: string,
    /** The interaction service's refusal reason ("muted", "too_fast", ...), when it gave one. */
    public reason = '',
  ) {
    super(message);
  }
}

export interface ApiOptions {
  base?: string; // '' : same origin
  token: () => string | null;
  onUnauthorized?: (error: ApiError) => void;
  fetchImpl?: typeof fetch;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export class Api {
  constructor(private opts: ApiOptions) {}

  async call(method: string, path: string, body?: unknown): Promise<Json> {
    const headers: Record<string, string> = {};
    const token = this.opts.token();
    if (token) headers.Authorization = `Bearer ${token}`;
    if (body !== undefined) headers['Content-Type'] = 'application/json';
    const f = this.opts.fetchImpl ?? fetch;
    let res: Response;
    try {
      res = await f(`${this.opts.base ?? ''}${path}`, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new ApiError(0, 'UNAVAILABLE', `network: ${(e as Error).message}`);
    }
    const text = await res.text();
    let data: Json = {};
    if (text) {
      try {
        data = JSON.parse(text);
      } catch {
        data = { message: text };
      }
    }
    if (!res.ok) {
      const err = new ApiError(res.status, data.code ?? 'UNKNOWN', data.message ?? res.statusText, typeof data.reason === 'string' ? data.reason : '');
      if (res.status === 401) this.opts.onUnauthorized?.(err);
      throw err;
    }
    return data;
  }

  get(path: string, query?: Record<string, string | number | undefined>): Promise<Json> {
    return this.call('GET', path + queryString(query));
  }
  post(path: string, body: unknown = {}): Promise<Json> {
    return this.call('POST', path, body);
  }
  patch(path: string, body: unknown): Promise<Json> {
    return this.call('PATCH', path, body);
  }
  put(path: string, body: unknown): Promise<Json> {
    return this.call('PUT', path, body);
  }
  del(path: string, query?: Record<string, string | number | undefined>): Promise<Json> {
    return this.call('DELETE', path + queryString(query));
  }
}

export function queryString(query?: Record<string, string | number | undefined>): string {
  if (!query) return '';
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) {
    if (v !== undefined && v !== '') q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : '';
}

/** The WebSocket URL of a gateway path on the page's own origin. */
export function wsUrl(path: string, query: Record<string, string | undefined>, loc: { protocol: string; host: string }): string {
  const proto = loc.protocol === 'https:' ? 'wss:' : 'ws:';
  return `${proto}//${loc.host}${path}${queryString(query)}`;
}
