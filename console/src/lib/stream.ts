// The stream as ops read it (the room page's stream panel, the live dashboard): health, the
// encoder-to-live time, clock times and countdowns, and recordings' sizes and durations.
import type { Json } from './api';
import { streamState, timeMs, type StreamState } from './player';

export type Health = 'up' | 'interrupted' | 'waiting' | 'ended' | 'none';

export function healthOf(stream: Json): Health {
  const byState: Record<StreamState, Health> = {
    STREAM_STATE_UNSPECIFIED: 'none',
    STREAM_STATE_WAITING: 'waiting',
    STREAM_STATE_UP: 'up',
    STREAM_STATE_INTERRUPTED: 'interrupted',
    STREAM_STATE_ENDED: 'ended',
  };
  return byState[streamState(stream)] ?? 'none';
}

/** The encoder-to-live time (publish_to_live_ms, an int64 string): "850 ms", "1.25 s"; "—" while
 * the session has not gone live from a push (0). */
export function formatLatency(ms: Json): string {
  const n = Number(ms ?? 0);
  if (!Number.isFinite(n) || n <= 0) return '—';
  if (n < 1000) return `${Math.round(n)} ms`;
  return `${(n / 1000).toFixed(2)} s`;
}

/** A timestamp as a local clock time with seconds ("14:02:07"), "" when missing. */
export function formatClock(ts: string | undefined | null, locale: string): string {
  const ms = timeMs(ts);
  if (ms === null) return '';
  return new Date(ms).toLocaleTimeString(locale, { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

/** Seconds as "m:ss", or "h:mm:ss" from an hour; negative counts as 0. */
export function formatDuration(seconds: Json): string {
  const total = Math.max(0, Math.floor(Number(seconds ?? 0) || 0));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${s}` : `${m}:${s}`;
}

/** What is left until `ts` from nowMs, in whole seconds (0 once passed), or null without `ts`. */
export function secondsUntil(ts: string | undefined | null, nowMs: number): number | null {
  const ms = timeMs(ts);
  if (ms === null) return null;
  return Math.max(0, Math.ceil((ms - nowMs) / 1000));
}

/** A size in bytes (an int64 string): "512 B", "1.50 KB", "12.5 MB", "300 MB" (1 KB = 1024 B). */
export function formatBytes(bytes: Json): string {
  let n = Number(bytes ?? 0);
  if (!Number.isFinite(n) || n < 0) n = 0;
  if (n < 1024) return `${Math.round(n)} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let i = -1;
  do {
    n /= 1024;
    i++;
  } while (n >= 1024 && i < units.length - 1);
  return `${n >= 100 ? n.toFixed(0) : n >= 10 ? n.toFixed(1) : n.toFixed(2)} ${units[i]}`;
}

/** The stream key as shown before "show" is pressed: always the same length, so the mask tells
 * nothing about the key. */
export const MASKED_KEY = '••••••••••••';
