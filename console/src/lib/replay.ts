// Before and after the live, apart from the DOM: which face the H5 page shows for a room ("remind
// me" before the start, the live, the replay after), a product moment's place on the replay's
// timeline and how it reads, and a share link's mini-program code as an image source.
import type { Json } from './api';

/** The reminder template the H5 page consents to. The mini-program asks wx.requestSubscribeMessage
 * for the brand's configured template (LC_REMINDER_TEMPLATES); a brand without one accepts any
 * consented template id, which is what the local runs and the demo use, so the H5 console (which
 * has no WeChat to ask) sends this fixed one as if the viewer had accepted it. */
export const H5_REMINDER_TEMPLATE = 'h5-console-reminder';

/** What the H5 page shows for a room: "remind me" while it is scheduled, the live while it is
 * live, the replay once it ended. An unknown status (the room could not be read) tries the live,
 * whose join says what is wrong. */
export type RoomFace = 'reserve' | 'live' | 'replay';

export function roomFace(status: string | undefined | null): RoomFace {
  if (status === 'ROOM_STATUS_SCHEDULED') return 'reserve';
  if (status === 'ROOM_STATUS_ENDED') return 'replay';
  return 'live';
}

/** Whether a viewer's reservation (GetReservation's `reservation`, possibly absent) holds. */
export function isReserved(reservation: Json): boolean {
  return reservation?.status === 'ROOM_RESERVATION_STATUS_RESERVED';
}

/** An offset on the replay's timeline (ms from the session's start, an int64 string or a number)
 * as "mm:ss", or "h:mm:ss" from an hour; negative or malformed counts as 0. */
export function formatOffset(offsetMs: Json): string {
  const n = Number(offsetMs ?? 0);
  const total = Number.isFinite(n) && n > 0 ? Math.floor(n / 1000) : 0;
  const h = Math.floor(total / 3600);
  const mm = String(Math.floor((total % 3600) / 60)).padStart(2, '0');
  const ss = String(total % 60).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

/** Where the video seeks for a moment: its offset on the session's clock (the server's, never the
 * viewer's), in seconds, kept inside the video when its length is known (a moment pinned in the
 * last instants may lie past the recording's end). */
export function seekSeconds(offsetMs: Json, durationSeconds?: number): number {
  const n = Number(offsetMs ?? 0);
  let s = Number.isFinite(n) && n > 0 ? n / 1000 : 0;
  if (durationSeconds !== undefined && Number.isFinite(durationSeconds) && durationSeconds > 0) {
    s = Math.min(s, Math.max(0, durationSeconds - 0.5));
  }
  return s;
}

/** The product on screen at `seconds` into the replay: the last pin at or before it, unless an
 * unpin (or another pin) came after it. Moments come in timeline order. */
export function showingAt(moments: Json[] | undefined, seconds: number): Json | null {
  let showing: Json | null = null;
  for (const m of moments ?? []) {
    if (Number(m.offset_ms ?? 0) / 1000 > seconds) break;
    showing = m.kind === 'PRODUCT_MOMENT_KIND_PIN' ? m : null;
  }
  return showing;
}

/** A share link's mini-program code (GetShareLinkCode's `code`) as an <img> source, or "" when it
 * carries no image or an image type a browser should not be handed. */
export function codeImageSrc(code: Json): string {
  const type = String(code?.content_type ?? '');
  const image = String(code?.image ?? '');
  if (!image || !/^image\/(png|jpeg)$/.test(type)) return '';
  return `data:${type};base64,${image}`;
}

/** The room context of a purchase from a session's replay (cart items and checkout). */
export function replayRoomContext(roomId: string, sessionId: string): Json {
  return { room_id: roomId, session_id: sessionId, broadcast: 'BROADCAST_REPLAY' };
}
