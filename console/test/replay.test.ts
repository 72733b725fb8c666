import { describe, expect, it } from 'vitest';
import { LOCALES } from '../src/lib/i18n';
import { chooseSource, isHlsUrl } from '../src/lib/player';
import { codeImageSrc, formatOffset, H5_REMINDER_TEMPLATE, isReserved, replayRoomContext, roomFace, seekSeconds, showingAt } from '../src/lib/replay';

describe("the H5 page's face for a room", () => {
  it('offers "remind me" before the start, the live while live, the replay after the end', () => {
    expect(roomFace('ROOM_STATUS_SCHEDULED')).toBe('reserve');
    expect(roomFace('ROOM_STATUS_LIVE')).toBe('live');
    expect(roomFace('ROOM_STATUS_ENDED')).toBe('replay');
  });
  it('tries the live when the room could not be read (its join says why)', () => {
    expect(roomFace(undefined)).toBe('live');
    expect(roomFace(null)).toBe('live');
    expect(roomFace('ROOM_STATUS_UNSPECIFIED')).toBe('live');
  });
  it('holds a reservation only while it is reserved', () => {
    expect(isReserved({ status: 'ROOM_RESERVATION_STATUS_RESERVED' })).toBe(true);
    expect(isReserved({ status: 'ROOM_RESERVATION_STATUS_CANCELLED' })).toBe(false);
    expect(isReserved(undefined)).toBe(false);
    expect(isReserved(null)).toBe(false);
  });
  it('consents to a template id the service accepts (1-128 letters, digits, _ and -)', () => {
    expect(H5_REMINDER_TEMPLATE).toMatch(/^[A-Za-z0-9_-]{1,128}$/);
  });
});

describe("a product moment on the replay's timeline", () => {
  it('reads as mm:ss, h:mm:ss from an hour, from int64 strings or numbers', () => {
    expect(formatOffset('0')).toBe('00:00');
    expect(formatOffset('4999')).toBe('00:04');
    expect(formatOffset(65_000)).toBe('01:05');
    expect(formatOffset('3599999')).toBe('59:59');
    expect(formatOffset('3600000')).toBe('1:00:00');
    expect(formatOffset('3725000')).toBe('1:02:05');
  });
  it('reads nonsense and negative offsets as the start', () => {
    expect(formatOffset(undefined)).toBe('00:00');
    expect(formatOffset('abc')).toBe('00:00');
    expect(formatOffset(-5000)).toBe('00:00');
  });
  it("seeks to the server's offset in seconds, exactly", () => {
    expect(seekSeconds('12345')).toBe(12.345);
    expect(seekSeconds(0)).toBe(0);
    expect(seekSeconds('-10')).toBe(0);
    expect(seekSeconds('x')).toBe(0);
    expect(seekSeconds('12345', 60)).toBe(12.345);
  });
  it('stays inside a video whose length is known (a pin in the last instants)', () => {
    expect(seekSeconds('30000', 20)).toBe(19.5);
    expect(seekSeconds('30000', Number.NaN)).toBe(30);
    expect(seekSeconds('30000', 0)).toBe(30);
  });
  const moments = [
    { kind: 'PRODUCT_MOMENT_KIND_PIN', product_id: '1', offset_ms: '4000' },
    { kind: 'PRODUCT_MOMENT_KIND_UNPIN', product_id: '1', offset_ms: '9000' },
    { kind: 'PRODUCT_MOMENT_KIND_PIN', product_id: '2', offset_ms: '12000' },
    { kind: 'PRODUCT_MOMENT_KIND_PIN', product_id: '3', offset_ms: '15000' },
  ];
  it('shows the product pinned at the playhead, nothing before the first pin or after an unpin', () => {
    expect(showingAt(moments, 0)).toBeNull();
    expect(showingAt(moments, 3.99)).toBeNull();
    expect(showingAt(moments, 4)?.product_id).toBe('1');
    expect(showingAt(moments, 8.9)?.product_id).toBe('1');
    expect(showingAt(moments, 9)).toBeNull();
    expect(showingAt(moments, 13)?.product_id).toBe('2');
    // A pin replaces the one before it.
    expect(showingAt(moments, 100)?.product_id).toBe('3');
    expect(showingAt(undefined, 5)).toBeNull();
  });
});

describe('the player for a replay', () => {
  it('tells an HLS playlist from a file by the path, whatever the query', () => {
    expect(isHlsUrl('http://127.0.0.1:8088/play/1/sig/s/index.m3u8')).toBe(true);
    expect(isHlsUrl('https://cdn.example/live/s.M3U8?txSecret=a&txTime=b')).toBe(true);
    expect(isHlsUrl('http://127.0.0.1:8088/replay/1/sig/s-1700000000.mp4')).toBe(false);
    expect(isHlsUrl('https://vod.example/a.mp4?t=1&sign=x.m3u8')).toBe(false);
  });
  it('plays an MP4 replay as the video src in every browser, an HLS replay with hls.js', () => {
    const mp4 = 'http://127.0.0.1:8088/replay/1/sig/s-1700000000.mp4';
    expect(chooseSource({ hls: mp4 }, { mse: true, nativeHls: '' })).toEqual({ engine: 'native', url: mp4 });
    expect(chooseSource({ hls: mp4 }, { mse: false, nativeHls: '' })).toEqual({ engine: 'native', url: mp4 });
    const m3u8 = 'https://vod.example/r/index.m3u8?t=1';
    expect(chooseSource({ hls: m3u8 }, { mse: true, nativeHls: '' })).toEqual({ engine: 'hls.js', url: m3u8 });
    expect(chooseSource({ hls: 'javascript:alert(1).mp4' }, { mse: true, nativeHls: '' })).toBeNull();
  });
});

describe('buying from the replay and sending a session card', () => {
  it('buys in the session as BROADCAST_REPLAY', () => {
    expect(replayRoomContext('7', '31')).toEqual({ room_id: '7', session_id: '31', broadcast: 'BROADCAST_REPLAY' });
  });
  it("shows the share link's mini-program code as a data URL of a PNG or JPEG only", () => {
    expect(codeImageSrc({ image: 'iVBORw0KGgo=', content_type: 'image/png' })).toBe('data:image/png;base64,iVBORw0KGgo=');
    expect(codeImageSrc({ image: '/9j/4AAQ', content_type: 'image/jpeg' })).toBe('data:image/jpeg;base64,/9j/4AAQ');
    expect(codeImageSrc({ image: 'PHN2Zz4=', content_type: 'image/svg+xml' })).toBe('');
    expect(codeImageSrc({ image: '', content_type: 'image/png' })).toBe('');
    expect(codeImageSrc(undefined)).toBe('');
  });
  it('has every label of the reservations, reminders and replays in both languages', () => {
    const keys = Object.keys(LOCALES.en).filter((k) => /^(reserve|reminders|replays?|h5\.(remind|reserv|replay|moments|buy))\b/.test(k));
    expect(keys.length).toBeGreaterThan(20);
    for (const k of keys) expect(LOCALES['zh-CN'][k], k).toBeTruthy();
  });
});
