// A replay player: an inline <video> with the browser's controls playing a session's replay. An
// HLS address plays with hls.js (loaded only then) or natively; any other file (the local
// server's MP4 copy of the recording, a VOD file) is the video's src as it is
// (src/lib/player.ts's chooseSource decides). A refused or expired address is replaced by a fresh
// one from the page, and playback resumes where it was.
import type HlsType from 'hls.js';
import type { Json } from './api';
import { h } from './dom';
import { t } from './i18n';
import { chooseSource, errorAction, mayRefresh, type Source } from './player';

export interface ReplayPlayerOptions {
  label: string; // the video's accessible name
  /** A fresh signed play address (the page asks for the replay again). */
  refresh: () => Promise<Json>;
  /** The playhead moved (timeupdate and seeked), in seconds. */
  onTime?: (seconds: number) => void;
}

export interface ReplayPlayer {
  el: HTMLElement;
  video: HTMLVideoElement;
  /** Plays these play addresses (PlayAddresses), from `at` seconds (default: the start). */
  load(play: Json, at?: number): void;
  /** Moves the playhead to `seconds` and plays; before the video knows its length, once it does. */
  seek(seconds: number): void;
  destroy(): void;
}

export function replayPlayer(opts: ReplayPlayerOptions): ReplayPlayer {
  const video = h('video', { controls: true, muted: true, autoplay: true, playsinline: true, 'webkit-playsinline': true, preload: 'auto', 'aria-label': opts.label, 'data-replay-video': '1' });
  video.muted = true;
  const message = h('p', { class: 'player-message', role: 'status', 'aria-live': 'polite', hidden: true });
  const el = h('div', { class: 'player replay-player', 'data-replay-player': '1' }, video, message);

  let hls: HlsType | null = null;
  let source: Source | null = null;
  let pendingSeek: number | null = null;
  let lastRefresh: number | null = null;
  let loading = 0; // bumps to drop an hls.js import that finishes after another load
  let destroyed = false;

  const say = (key: string) => {
    message.hidden = !key;
    message.textContent = key ? t(key) : '';
  };
  const start = () => {
    // A refused autoplay leaves the controls to the viewer; nothing to report.
    video.play().catch(() => {});
  };
  const applySeek = () => {
    if (pendingSeek === null || video.readyState < HTMLMediaElement.HAVE_METADATA) return;
    video.currentTime = pendingSeek;
    pendingSeek = null;
    start();
  };
  const unload = () => {
    loading++;
    if (hls) {
      hls.destroy();
      hls = null;
    }
    if (video.hasAttribute('src')) {
      video.removeAttribute('src');
      video.load();
    }
  };

  // A refused address (expired, revoked) or a broken file: a fresh address, rate-limited, resuming
  // at the same place.
  const recover = (status?: number) => {
    if (destroyed || !source) return;
    // hls.js recovers from the rest itself; native playback gives no status, so always asks.
    if (source.engine === 'hls.js' && errorAction('hls.js', true, status) !== 'refresh') return;
    const now = Date.now();
    if (!mayRefresh(lastRefresh, now)) {
      say('replay.unavailable');
      return;
    }
    lastRefresh = now;
    const at = video.currentTime;
    opts.refresh().then(
      (play) => !destroyed && load(play, at),
      () => say('replay.unavailable'),
    );
  };

  const load = (play: Json, at = 0) => {
    unload();
    const mine = loading;
    const w = window as unknown as Record<string, unknown>;
    source = chooseSource(play, { mse: Boolean(w.MediaSource || w.ManagedMediaSource), nativeHls: video.canPlayType('application/vnd.apple.mpegurl') });
    if (!source) {
      say('replay.unavailable');
      return;
    }
    if (source.engine === 'none') {
      say('player.unsupported');
      return;
    }
    say('');
    if (at > 0) pendingSeek = at;
    if (source.engine === 'hls.js') {
      const url = source.url;
      void import('hls.js').then(({ default: Hls }) => {
        if (mine !== loading || destroyed) return;
        const player = new Hls({ backBufferLength: 30 });
        hls = player;
        player.on(Hls.Events.ERROR, (_event, data) => {
          if (hls === player && data.fatal) recover(data.response?.code);
        });
        player.on(Hls.Events.MANIFEST_PARSED, () => start());
        player.loadSource(url);
        player.attachMedia(video);
      });
      return;
    }
    video.src = source.url;
    start();
  };

  video.addEventListener('loadedmetadata', () => {
    if (video.videoWidth && video.videoHeight) el.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
    applySeek();
  });
  video.addEventListener('error', () => {
    if (source?.engine === 'native' && video.hasAttribute('src')) recover();
  });
  video.addEventListener('playing', () => say(''));
  const tell = () => opts.onTime?.(video.currentTime);
  video.addEventListener('timeupdate', tell);
  video.addEventListener('seeked', tell);

  return {
    el,
    video,
    load,
    seek: (seconds: number) => {
      pendingSeek = seconds;
      applySeek();
    },
    destroy: () => {
      destroyed = true;
      unload();
    },
  };
}
