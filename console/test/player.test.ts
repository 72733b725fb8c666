import { describe, expect, it } from 'vitest';
import { LOCALES } from '../src/lib/i18n';
import { chooseSource, errorAction, loadDelayMs, mayRefresh, OVERLAY_KEYS, overlayFor, rebaseUrl, refreshDelayMs, retryDelayMs, timeMs, wantsSource, type Source } from '../src/lib/player';

const hlsJs: Source = { engine: 'hls.js', url: 'http://127.0.0.1:18090/play/1/sig/s/index.m3u8' };
const T0 = Date.parse('2026-03-01T12:00:00Z');
const at = (ms: number) => new Date(T0 + ms).toISOString();
const up = { state: 'STREAM_STATE_UP', since: at(0) };

describe('the overlay over the video', () => {
  it('says "starting soon" before anything is pushed, or when the room tells nothing of a stream', () => {
    expect(overlayFor({ stream: { state: 'STREAM_STATE_WAITING' }, roomStatus: 'ROOM_STATUS_LIVE', source: hlsJs, playing: false })).toBe('soon');
    expect(overlayFor({ stream: undefined, roomStatus: 'ROOM_STATUS_LIVE', source: null, playing: false })).toBe('soon');
    expect(overlayFor({ stream: {}, roomStatus: 'ROOM_STATUS_SCHEDULED', source: null, playing: false })).toBe('soon');
  });
  it('shows the picture once an UP stream plays, "loading" until then', () => {
    expect(overlayFor({ stream: up, roomStatus: 'ROOM_STATUS_LIVE', source: hlsJs, playing: true })).toBeNull();
    expect(overlayFor({ stream: up, roomStatus: 'ROOM_STATUS_LIVE', source: hlsJs, playing: false })).toBe('loading');
    // No address yet (a fresh one is being asked for).
    expect(overlayFor({ stream: up, roomStatus: 'ROOM_STATUS_LIVE', source: null, playing: false })).toBe('loading');
  });
  it('says the host will be right back while the push is interrupted, even over a last frame', () => {
    expect(overlayFor({ stream: { state: 'STREAM_STATE_INTERRUPTED', since: at(0), ends_at: at(60_000) }, roomStatus: 'ROOM_STATUS_LIVE', source: hlsJs, playing: true })).toBe('back');
  });
  it('says ended when the stream or the room ended, whatever else is known', () => {
    expect(overlayFor({ stream: { state: 'STREAM_STATE_ENDED' }, roomStatus: 'ROOM_STATUS_LIVE', source: hlsJs, playing: true })).toBe('ended');
    expect(overlayFor({ stream: up, roomStatus: 'ROOM_STATUS_ENDED', source: hlsJs, playing: true })).toBe('ended');
    expect(overlayFor({ stream: { state: 'STREAM_STATE_INTERRUPTED' }, roomStatus: 'ROOM_STATUS_ENDED', source: null, playing: false })).toBe('ended');
  });
  it('says when the browser cannot play the stream', () => {
    expect(overlayFor({ stream: up, roomStatus: 'ROOM_STATUS_LIVE', source: { engine: 'none', url: hlsJs.url }, playing: false })).toBe('unsupported');
  });
  it('has a label for every overlay in both languages', () => {
    for (const key of OVERLAY_KEYS) {
      expect(LOCALES.en[key], key).toBeTruthy();
      expect(LOCALES['zh-CN'][key], key).toBeTruthy();
    }
  });
  it('holds a source only while the stream is up in a room that has not ended', () => {
    expect(wantsSource(up, 'ROOM_STATUS_LIVE')).toBe(true);
    expect(wantsSource(up, 'ROOM_STATUS_ENDED')).toBe(false);
    expect(wantsSource({ state: 'STREAM_STATE_INTERRUPTED' }, 'ROOM_STATUS_LIVE')).toBe(false);
    expect(wantsSource({ state: 'STREAM_STATE_WAITING' }, 'ROOM_STATUS_LIVE')).toBe(false);
    expect(wantsSource(undefined, 'ROOM_STATUS_LIVE')).toBe(false);
  });
});

describe('which source to play', () => {
  const play = { hls: hlsJs.url, flv: '', webrtc: '', expires_at: at(600_000) };
  it('plays the HLS address with hls.js where MediaSource exists, even if HLS is native too', () => {
    expect(chooseSource(play, { mse: true, nativeHls: 'maybe' })).toEqual({ engine: 'hls.js', url: hlsJs.url });
  });
  it('plays natively where only the video element knows HLS (older iPhones)', () => {
    expect(chooseSource(play, { mse: false, nativeHls: 'maybe' })).toEqual({ engine: 'native', url: hlsJs.url });
  });
  it('says nothing can play it when neither works', () => {
    expect(chooseSource(play, { mse: false, nativeHls: '' })).toEqual({ engine: 'none', url: hlsJs.url });
  });
  it('has no source without an HLS address (FLV and WebRTC are for other players) or with a strange one', () => {
    const caps = { mse: true, nativeHls: '' };
    expect(chooseSource({ hls: '', flv: 'http://x/s.flv', webrtc: 'webrtc://x/s' }, caps)).toBeNull();
    expect(chooseSource(undefined, caps)).toBeNull();
    expect(chooseSource(null, caps)).toBeNull();
    expect(chooseSource({ hls: 'javascript:alert(1)' }, caps)).toBeNull();
    expect(chooseSource({ hls: '  https://cdn.example/live/s.m3u8?txSecret=a&txTime=b ' }, caps)).toEqual({ engine: 'hls.js', url: 'https://cdn.example/live/s.m3u8?txSecret=a&txTime=b' });
    expect(chooseSource({ hls: '/play/1/sig/s/index.m3u8' }, caps)?.url).toBe('/play/1/sig/s/index.m3u8');
  });
});

describe('when to load and when to ask for a fresh address', () => {
  it('reads timestamps with any number of fraction digits, as protobuf JSON writes them', () => {
    expect(timeMs('2026-03-01T12:00:00Z')).toBe(T0);
    expect(timeMs('2026-03-01T12:00:00.250Z')).toBe(T0 + 250);
    expect(timeMs('2026-03-01T12:00:00.250123456Z')).toBe(T0 + 250);
    expect(timeMs('')).toBeNull();
    expect(timeMs(undefined)).toBeNull();
    expect(timeMs('not a time')).toBeNull();
  });
  it('waits for the first fragments of a push that just started, and not after', () => {
    expect(loadDelayMs(up, T0 + 500)).toBe(4500);
    expect(loadDelayMs(up, T0 + 5000)).toBe(0);
    expect(loadDelayMs(up, T0 + 60_000)).toBe(0);
    expect(loadDelayMs({ state: 'STREAM_STATE_UP' }, T0)).toBe(0);
    // A client clock far behind the server's never holds the picture back more than the settle time.
    expect(loadDelayMs(up, T0 - 3_600_000)).toBe(5000);
    expect(loadDelayMs(up, T0 + 1000, 2000)).toBe(1000);
  });
  it('asks for a fresh address a fifth of its life before it expires, between 2 s and 60 s ahead', () => {
    expect(refreshDelayMs({ expires_at: at(100_000) }, T0)).toBe(80_000);
    expect(refreshDelayMs({ expires_at: at(3_600_000) }, T0)).toBe(3_540_000);
    expect(refreshDelayMs({ expires_at: at(5_000) }, T0)).toBe(3_000);
    expect(refreshDelayMs({ expires_at: at(1_000) }, T0)).toBe(0);
  });
  it('leaves an address without expiry alone, and one that looks expired on arrival to the server', () => {
    expect(refreshDelayMs({ hls: hlsJs.url }, T0)).toBeNull();
    expect(refreshDelayMs(undefined, T0)).toBeNull();
    expect(refreshDelayMs({ expires_at: at(0) }, T0)).toBeNull();
    expect(refreshDelayMs({ expires_at: at(-5_000) }, T0)).toBeNull();
  });
  it('asks for a fresh address when the server refuses this one, retries other fatal errors', () => {
    expect(errorAction('hls.js', true, 403)).toBe('refresh');
    expect(errorAction('hls.js', true, 410)).toBe('refresh');
    expect(errorAction('hls.js', false, 410)).toBe('refresh');
    expect(errorAction('hls.js', true, 404)).toBe('retry');
    expect(errorAction('hls.js', true, undefined)).toBe('retry');
    expect(errorAction('hls.js', false, 404)).toBe('ignore');
    expect(errorAction('hls.js', false, undefined)).toBe('ignore');
    expect(errorAction('native', true)).toBe('refresh');
  });
  it('backs off retries up to 30 s and joins again at most every 10 s', () => {
    expect([1, 2, 3, 4, 5, 6, 20].map(retryDelayMs)).toEqual([2000, 4000, 8000, 16000, 30000, 30000, 30000]);
    expect(mayRefresh(null, T0)).toBe(true);
    expect(mayRefresh(T0, T0 + 9_999)).toBe(false);
    expect(mayRefresh(T0, T0 + 10_000)).toBe(true);
  });
});

describe('moving a playing stream to its fresh address', () => {
  it('moves the playlist and its segments to the new path signature (the local server)', () => {
    const old = 'http://127.0.0.1:18090/play/1700000600/oldSig/s1/index.m3u8';
    const fresh = 'http://127.0.0.1:18090/play/1700001200/newSig/s1/index.m3u8';
    expect(rebaseUrl(old, old, fresh)).toBe(fresh);
    expect(rebaseUrl('http://127.0.0.1:18090/play/1700000600/oldSig/s1/1700000123456.ts', old, fresh)).toBe('http://127.0.0.1:18090/play/1700001200/newSig/s1/1700000123456.ts');
  });
  it('moves the query signature (Tencent) and keeps other queries', () => {
    const old = 'https://play.example.com/live/s1.m3u8?txSecret=aa&txTime=65F1A2B0';
    const fresh = 'https://play.example.com/live/s1.m3u8?txSecret=bb&txTime=65F1B8C0';
    expect(rebaseUrl(old, old, fresh)).toBe(fresh);
    expect(rebaseUrl('https://play.example.com/live/s1-42.ts?txSecret=aa&txTime=65F1A2B0', old, fresh)).toBe('https://play.example.com/live/s1-42.ts?txSecret=bb&txTime=65F1B8C0');
    expect(rebaseUrl('https://play.example.com/live/s1-42.ts', old, fresh)).toBe('https://play.example.com/live/s1-42.ts');
    expect(rebaseUrl('https://play.example.com/live/s1-42.ts?seq=42', old, fresh)).toBe('https://play.example.com/live/s1-42.ts?seq=42');
  });
  it('leaves requests outside the stream, and an unchanged address, alone', () => {
    const old = 'http://a/play/1/x/s1/index.m3u8';
    expect(rebaseUrl('http://cdn.other/seg.ts', old, 'http://a/play/2/y/s1/index.m3u8')).toBe('http://cdn.other/seg.ts');
    expect(rebaseUrl('http://a/play/1/x/s1/5.ts', old, old)).toBe('http://a/play/1/x/s1/5.ts');
    expect(rebaseUrl('http://a/play/1/x/s1/5.ts', '', 'http://a/play/2/y/s1/index.m3u8')).toBe('http://a/play/1/x/s1/5.ts');
  });
});
