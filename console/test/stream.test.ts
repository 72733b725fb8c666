import { describe, expect, it } from 'vitest';
import { formatBytes, formatClock, formatDuration, formatLatency, healthOf, MASKED_KEY, secondsUntil } from '../src/lib/stream';

describe('stream health for ops', () => {
  it('reads the state of a StreamStatus, missing or unknown as none', () => {
    expect(healthOf({ state: 'STREAM_STATE_UP' })).toBe('up');
    expect(healthOf({ state: 'STREAM_STATE_INTERRUPTED' })).toBe('interrupted');
    expect(healthOf({ state: 'STREAM_STATE_WAITING' })).toBe('waiting');
    expect(healthOf({ state: 'STREAM_STATE_ENDED' })).toBe('ended');
    expect(healthOf({ state: 'STREAM_STATE_UNSPECIFIED' })).toBe('none');
    expect(healthOf({ state: 'STREAM_STATE_FROM_THE_FUTURE' })).toBe('none');
    expect(healthOf(undefined)).toBe('none');
  });
  it('shows the encoder-to-live time from its int64 string, a dash before the first push', () => {
    expect(formatLatency('850')).toBe('850 ms');
    expect(formatLatency(1250)).toBe('1.25 s');
    expect(formatLatency('0')).toBe('—');
    expect(formatLatency(undefined)).toBe('—');
    expect(formatLatency('garbage')).toBe('—');
  });
  it('shows clock times with seconds, nothing for a missing one', () => {
    expect(formatClock('2026-03-01T12:00:07Z', 'en')).toMatch(/^\d\d:\d\d:07$/);
    expect(formatClock(undefined, 'en')).toBe('');
  });
  it('counts down to a time, never below zero', () => {
    const now = Date.parse('2026-03-01T12:00:00Z');
    expect(secondsUntil('2026-03-01T12:01:30Z', now)).toBe(90);
    expect(secondsUntil('2026-03-01T12:00:00.200Z', now)).toBe(1);
    expect(secondsUntil('2026-03-01T11:59:00Z', now)).toBe(0);
    expect(secondsUntil(undefined, now)).toBeNull();
  });
  it('formats durations and sizes of recordings from int64 strings', () => {
    expect(formatDuration('0')).toBe('0:00');
    expect(formatDuration('75')).toBe('1:15');
    expect(formatDuration(3723)).toBe('1:02:03');
    expect(formatDuration(-5)).toBe('0:00');
    expect(formatBytes('512')).toBe('512 B');
    expect(formatBytes('1536')).toBe('1.50 KB');
    expect(formatBytes(String(12.5 * 1024 * 1024))).toBe('12.5 MB');
    expect(formatBytes(String(300 * 1024 * 1024))).toBe('300 MB');
    expect(formatBytes('2199023255552')).toBe('2.00 TB');
    expect(formatBytes(undefined)).toBe('0 B');
  });
  it('masks a key with a fixed length that says nothing of it', () => {
    expect(MASKED_KEY).not.toMatch(/[A-Za-z0-9]/);
    expect(MASKED_KEY.length).toBeGreaterThan(6);
  });
});
