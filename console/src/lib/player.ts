// The livestream player's decisions, apart from the DOM and hls.js (src/lib/video.ts does those):
// what covers the picture, which engine plays which address, when to load, when to ask for a
// fresh signed address and what to do after a playback error.
import type { Json } from './api';

export type StreamState = 'STREAM_STATE_UNSPECIFIED' | 'STREAM_STATE_WAITING' | 'STREAM_STATE_UP' | 'STREAM_STATE_INTERRUPTED' | 'STREAM_STATE_ENDED';

/** What covers the video: an i18n key's last part (`player.<overlay>`), or null for the picture. */
export type Overlay = 'soon' | 'loading' | 'back' | 'ended' | 'unsupported' | null;

export const OVERLAY_KEYS = ['player.soon', 'player.loading', 'player.back', 'player.ended', 'player.unsupported'];

export type Engine = 'hls.js' | 'native' | 'none';

export interface Source {
  engine: Engine;
  url: string;
}

/** What the browser offers: MediaSource (hls.js works) and video.canPlayType for HLS. */
export interface Capabilities {
  mse: boolean;
  nativeHls: string;
}

export interface OverlayInput {
  stream?: Json; // StreamStatus
  roomStatus?: string;
  source: Source | null;
  playing: boolean;
}

/** A timestamp of the API (RFC 3339, any number of fraction digits) in ms, or null. */
export function timeMs(ts: string | undefined | null): number | null {
  if (!ts) return null;
  const ms = Date.parse(ts);
  return Number.isNaN(ms) ? null : ms;
}

export function streamState(stream: Json): StreamState {
  return (stream?.state as StreamState) || 'STREAM_STATE_UNSPECIFIED';
}

/** The message over the video: the room or the stream ended wins, then an interrupted push;
 * before anything is pushed (or when the room says nothing of a stream), "starting soon". */
export function overlayFor(v: OverlayInput): Overlay {
  const state = streamState(v.stream);
  if (v.roomStatus === 'ROOM_STATUS_ENDED' || state === 'STREAM_STATE_ENDED') return 'ended';
  if (state === 'STREAM_STATE_INTERRUPTED') return 'back';
  if (state !== 'STREAM_STATE_UP') return 'soon';
  if (v.source?.engine === 'none') return 'unsupported';
  return v.playing ? null : 'loading';
}

/** Whether the player should hold a source now (load it, or keep it loaded). */
export function wantsSource(stream: Json, roomStatus: string | undefined): boolean {
  return roomStatus !== 'ROOM_STATUS_ENDED' && streamState(stream) === 'STREAM_STATE_UP';
}

/** Whether an address is an HLS playlist (its path ends .m3u8, whatever the query says). */
export function isHlsUrl(url: string): boolean {
  return /\.m3u8$/i.test(url.split(/[?#]/, 1)[0]);
}

/** The address to play and with what. An HLS playlist: hls.js comes first where MediaSource
 * exists, as it reports the HTTP status of a refused address (403/410), which native playback
 * hides; native HLS is for browsers without MediaSource (iPhones before iOS 17.1). Any other file
 * (a replay: the local server's MP4 copy of a recording, a VOD file) goes to the video element as
 * it is, which every browser plays and seeks with range requests. Null when there is no usable
 * address. */
export function chooseSource(play: Json, caps: Capabilities): Source | null {
  const url = typeof play?.hls === 'string' ? play.hls.trim() : '';
  if (!url || !(/^https?:\/\//i.test(url) || url.startsWith('/'))) return null;
  if (!isHlsUrl(url)) return { engine: 'native', url };
  if (caps.mse) return { engine: 'hls.js', url };
  if (caps.nativeHls !== '') return { engine: 'native', url };
  return { engine: 'none', url };
}

/** How long after an UP stream's `since` to wait before asking for its playlist. The local server
 * lists the first fragments 1.6 s after a push starts when idle and 3.5 s on a busy 2-core machine
 * (measured); a push that resumes may meet the previous push's playlist for up to 10 s. Asking too
 * early is answered 404, a console error in the browser, hence 5 s. Only a viewer who arrives in
 * the first seconds of a push waits; capped at settleMs, so a client clock that is off does not
 * hold the picture back longer. */
export function loadDelayMs(stream: Json, serverNowMs: number, settleMs = 5000): number {
  const since = timeMs(stream?.since);
  if (since === null) return 0;
  return Math.min(settleMs, Math.max(0, since + settleMs - serverNowMs));
}

/** How long from now (the server's clock when the address was received) to ask for a fresh play
 * address: a fifth of its remaining life before it expires, between 2 s and 60 s ahead. Null when
 * it has no expiry, or when it looks expired already as it arrives (a client clock that is off):
 * then only the server's 403/410 asks for a new one, so a skewed clock cannot loop. */
export function refreshDelayMs(play: Json, serverNowMs: number): number | null {
  const expires = timeMs(play?.expires_at);
  if (expires === null) return null;
  const left = expires - serverNowMs;
  if (left <= 0) return null;
  const margin = Math.min(60_000, Math.max(2_000, left / 5));
  return Math.max(0, Math.round(left - margin));
}

export type ErrorAction = 'refresh' | 'retry' | 'ignore';

/** After a playback error: a refused or expired address (403, 410) needs a fresh one; another fatal
 * error (the playlist not there yet, a network gap) is retried with the same address; hls.js
 * recovers from the others itself. Native playback gives no status, so its errors ask for a fresh
 * address (rate-limited by the caller). */
export function errorAction(engine: Engine, fatal: boolean, status?: number): ErrorAction {
  if (engine === 'native') return 'refresh';
  if (status === 403 || status === 410) return 'refresh';
  return fatal ? 'retry' : 'ignore';
}

/** The pause before the n-th retry (n from 1): 2 s, 4 s, 8 s … at most 30 s. */
export function retryDelayMs(attempt: number): number {
  return Math.min(30_000, 2_000 * 2 ** Math.max(0, attempt - 1));
}

/** Asking for a fresh address joins the room again: not more often than every minGapMs. */
export function mayRefresh(lastRefreshMs: number | null, nowMs: number, minGapMs = 10_000): boolean {
  return lastRefreshMs === null || nowMs - lastRefreshMs >= minGapMs;
}

function splitUrl(url: string): { path: string; query: string; dir: string } {
  const q = url.indexOf('?');
  const path = q < 0 ? url : url.slice(0, q);
  return { path, query: q < 0 ? '' : url.slice(q), dir: path.slice(0, path.lastIndexOf('/') + 1) };
}

/** A request of the stream that was loaded from `loaded`, sent to the fresh signed address `fresh`
 * instead, so a new address needs no reload of the player. The signature is in the path (the local
 * server: /play/<expires>/<sig>/<name>/…, segments relative to the playlist) or in the query
 * (Tencent: ?txSecret=…&txTime=…): the playlist becomes `fresh`, a request under the playlist's
 * folder keeps what follows the folder, and a query equal to the old address's becomes the fresh
 * one's. Requests elsewhere are left alone. All addresses absolute. */
export function rebaseUrl(request: string, loaded: string, fresh: string): string {
  if (!loaded || !fresh || loaded === fresh) return request;
  const a = splitUrl(loaded);
  const b = splitUrl(fresh);
  const r = splitUrl(request);
  if (r.path === a.path) return fresh;
  if (!a.dir || !r.path.startsWith(a.dir)) return request;
  return b.dir + r.path.slice(a.dir.length) + (r.query === a.query ? b.query : r.query);
}
