// A livestream player: a muted, inline <video> playing a room's HLS address with hls.js (loaded
// only when a page plays something) or natively, under a message drawn from the stream's state.
// The decisions are src/lib/player.ts's; this file only carries them out.
import type HlsType from 'hls.js';
import type { Json } from './api';
import { h } from './dom';
import { t } from './i18n';
import { chooseSource, errorAction, loadDelayMs, mayRefresh, overlayFor, rebaseUrl, refreshDelayMs, retryDelayMs, timeMs, wantsSource, type Capabilities, type Source } from './player';

/** News for the player; fields left out keep what the player knew. */
export interface PlayerUpdate {
  stream?: Json; // StreamStatus
  roomStatus?: string;
  play?: Json; // PlayAddresses
  asOf?: string; // the server's clock at this news (RoomStats.as_of), for the expiry and load timing
}

export interface PlayerOptions {
  label: string; // the video's accessible name
  kind: string; // data-player: "h5", "preview"
  /** Fresh play addresses (the H5 page joins again, the ops page reads the preview again). */
  refresh: () => Promise<PlayerUpdate>;
}

export interface StreamPlayer {
  el: HTMLElement;
  update(news: PlayerUpdate): void;
  destroy(): void;
}

function capabilities(video: HTMLVideoElement): Capabilities {
  const w = window as unknown as Record<string, unknown>;
  return { mse: Boolean(w.MediaSource || w.ManagedMediaSource), nativeHls: video.canPlayType('application/vnd.apple.mpegurl') };
}

export function streamPlayer(opts: PlayerOptions): StreamPlayer {
  const video = h('video', { muted: true, autoplay: true, playsinline: true, 'webkit-playsinline': true, preload: 'auto', 'aria-label': opts.label, 'data-player-video': '1' });
  video.muted = true;
  const message = h('p', { class: 'player-message', role: 'status', 'aria-live': 'polite' });
  const tapToPlay = h('button', { type: 'button', class: 'player-play', hidden: true, 'data-player-play': '1' }, t('player.tapToPlay'));
  const sound = h('button', { type: 'button', class: 'player-sound small', hidden: true, 'data-player-unmute': '1' });
  const el = h('div', { class: 'player', 'data-player': opts.kind, 'data-player-overlay': 'soon' }, video, message, tapToPlay, sound);

  let stream: Json = undefined;
  let roomStatus: string | undefined;
  let play: Json = undefined;
  let source: Source | null = null;
  let offsetMs = 0; // the server's clock minus ours
  let hls: HlsType | null = null;
  let engine: Source['engine'] | null = null; // what plays loadedUrl
  let loadedUrl = '';
  let hlsFirstUrl = ''; // what hls.js was given; its requests go to the newest address (absolute)
  let hlsNewestUrl = '';
  let loadedSince: string | undefined;
  let loading = 0; // bumps to drop an hls.js import that finishes after an unload
  let playing = false;
  let blocked = false; // the browser refused to start playing by itself
  let retries = 0;
  let lastRefresh: number | null = null;
  let refreshing = false;
  let destroyed = false;
  const timers = { load: 0, retry: 0, refresh: 0 };
  const clear = (name: keyof typeof timers) => {
    window.clearTimeout(timers[name]);
    timers[name] = 0;
  };
  const serverNow = () => Date.now() + offsetMs;

  const render = () => {
    const overlay = overlayFor({ stream, roomStatus, source, playing });
    el.dataset.playerOverlay = overlay ?? '';
    message.hidden = overlay === null;
    message.textContent = overlay === null ? '' : t(`player.${overlay}`);
    tapToPlay.hidden = !(blocked && loadedUrl);
    sound.hidden = overlay !== null;
    sound.textContent = video.muted ? t('player.unmute') : t('player.mute');
    sound.setAttribute('aria-pressed', String(!video.muted));
  };

  const start = () => {
    video.play().then(
      () => {
        blocked = false;
        render();
      },
      (e: unknown) => {
        // NotAllowedError: no autoplay here even muted; AbortError: the source changed meanwhile.
        if ((e as Error)?.name === 'NotAllowedError') blocked = true;
        render();
      },
    );
  };

  const unload = () => {
    loading++;
    clear('load');
    if (hls) {
      hls.destroy();
      hls = null;
    }
    if (video.hasAttribute('src')) {
      video.removeAttribute('src');
      video.load();
    }
    engine = null;
    loadedUrl = '';
    playing = false;
    blocked = false;
  };

  const onError = (fatal: boolean, status?: number) => {
    if (!engine || destroyed) return;
    const action = errorAction(engine, fatal, status);
    if (action === 'ignore') return;
    unload();
    if (action === 'refresh') {
      // The address was refused (expired or revoked): forget it, so nothing loads it again.
      play = undefined;
      source = null;
      refresh();
    } else {
      retries++;
      clear('retry');
      timers.retry = window.setTimeout(() => {
        timers.retry = 0;
        reconcile();
      }, retryDelayMs(retries));
    }
    render();
  };

  const load = async (src: Source) => {
    const mine = ++loading;
    loadedUrl = src.url;
    loadedSince = stream?.since;
    if (src.engine === 'hls.js') {
      const absolute = new URL(src.url, location.href).href;
      if (hls) {
        // A fresh address of the same stream: the next requests go there, nothing reloads.
        hlsNewestUrl = absolute;
        return;
      }
      const { default: Hls } = await import('hls.js');
      if (mine !== loading || destroyed) return;
      if (Hls.isSupported()) {
        hlsFirstUrl = hlsNewestUrl = absolute;
        const player = new Hls({
          // A session lasts hours: keep 30 s behind the playhead, not all of it.
          backBufferLength: 30,
          xhrSetup: (xhr, url) => {
            const to = rebaseUrl(url, hlsFirstUrl, hlsNewestUrl);
            if (to !== url) xhr.open('GET', to, true);
          },
        });
        hls = player;
        engine = 'hls.js';
        player.on(Hls.Events.ERROR, (_event, data) => {
          if (hls === player) onError(data.fatal, data.response?.code);
        });
        player.on(Hls.Events.MANIFEST_PARSED, () => start());
        player.loadSource(src.url);
        player.attachMedia(video);
        return;
      }
      if (!video.canPlayType('application/vnd.apple.mpegurl')) {
        source = { engine: 'none', url: src.url };
        loadedUrl = '';
        render();
        return;
      }
    }
    engine = 'native';
    video.src = src.url;
    start();
  };

  const refresh = () => {
    if (destroyed || refreshing) return;
    const now = Date.now();
    if (!mayRefresh(lastRefresh, now)) {
      clear('refresh');
      timers.refresh = window.setTimeout(refresh, (lastRefresh ?? now) + 10_000 - now);
      return;
    }
    lastRefresh = now;
    refreshing = true;
    opts.refresh().then(
      (news) => {
        refreshing = false;
        update(news);
      },
      () => {
        refreshing = false;
        // Not joined again (a network gap, the room just ended): try later; the socket tells the rest.
        clear('refresh');
        timers.refresh = window.setTimeout(refresh, 10_000);
      },
    );
  };

  const reconcile = () => {
    if (destroyed) return;
    if (!wantsSource(stream, roomStatus)) {
      // Waiting, interrupted or ended: nothing to load. A push that comes back may restart the
      // playlist, so the next UP loads afresh.
      unload();
      clear('retry');
      retries = 0;
      render();
      return;
    }
    const expires = timeMs(play?.expires_at);
    if (!source || (expires !== null && expires <= serverNow())) {
      if (loadedUrl) unload();
      refresh();
      render();
      return;
    }
    if (source.engine === 'none') {
      render();
      return;
    }
    if (loadedUrl && stream?.since !== loadedSince) unload(); // the push restarted
    if (loadedUrl && loadedUrl !== source.url && engine === 'hls.js' && hls) {
      void load(source);
    } else if (loadedUrl && loadedUrl !== source.url) {
      unload();
      void load(source);
    } else if (!loadedUrl && !timers.load && !timers.retry) {
      const src = source;
      const since = stream?.since;
      timers.load = window.setTimeout(() => {
        timers.load = 0;
        if (destroyed) return;
        if (source === src && stream?.since === since && wantsSource(stream, roomStatus)) void load(src);
        else reconcile();
      }, loadDelayMs(stream, serverNow()));
    }
    render();
  };

  const update = (news: PlayerUpdate) => {
    if (destroyed) return;
    const asOf = timeMs(news.asOf);
    if (asOf !== null) offsetMs = asOf - Date.now();
    if (news.stream !== undefined) stream = news.stream;
    if (news.roomStatus) roomStatus = news.roomStatus;
    if (news.play !== undefined) {
      play = news.play;
      source = chooseSource(play, capabilities(video));
      clear('refresh');
      const delay = refreshDelayMs(play, serverNow());
      if (delay !== null) {
        timers.refresh = window.setTimeout(() => {
          timers.refresh = 0;
          // Only a player that is showing the stream needs the address now; otherwise the next UP
          // finds it expired and asks then.
          if (wantsSource(stream, roomStatus)) refresh();
        }, delay);
      }
    }
    reconcile();
  };

  video.addEventListener('playing', () => {
    playing = true;
    blocked = false;
    retries = 0;
    render();
  });
  video.addEventListener('error', () => {
    if (engine === 'native' && loadedUrl) onError(true);
  });
  video.addEventListener('volumechange', () => render());
  tapToPlay.addEventListener('click', () => start());
  sound.addEventListener('click', () => {
    video.muted = !video.muted;
    if (!video.muted && video.paused) start();
    render();
  });
  video.addEventListener('loadedmetadata', () => {
    // Phone encoders push portrait: the frame takes the picture's shape.
    if (video.videoWidth && video.videoHeight) el.style.aspectRatio = `${video.videoWidth} / ${video.videoHeight}`;
  });
  render();

  return {
    el,
    update,
    destroy: () => {
      destroyed = true;
      clear('retry');
      clear('refresh');
      unload();
    },
  };
}
