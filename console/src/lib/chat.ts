// Live interaction, apart from the DOM: the comment stream as the room WebSocket delivers it
// (chat_history, then chat frames of items: comments, deletions, the announcement, mutes; a chat
// frame also carries the like total and the room's stats when they changed, which otherwise come
// in "likes" and "stats" frames of their own), the sender's own comments until the room confirms
// them, the heart's taps in batches, and the words for a refusal. The pages (h5.ts, live.ts,
// associate.ts; chat_view.ts draws a comment) only draw what these decide. The wire protocol is
// the gateway's: docs/INTERACTION.md and the room socket's chat frames.
import type { Json } from './api';

export type Badge = 'viewer' | 'host' | 'associate';

/** A comment as the room socket delivers it (an Item of type comment). */
export interface ChatComment {
  comment_id: string;
  session_id?: string;
  author_alias?: string;
  /** Only on ops sockets and on the viewer's own comments. */
  author_id?: string;
  badge: Badge;
  text: string;
  reply_to?: string;
  at?: string;
  own?: boolean;
}

const BADGES: Badge[] = ['viewer', 'host', 'associate'];

/** A socket item or an HTTP Comment (interaction.proto's JSON) as a ChatComment, or null when it
 * is not a comment with an id. */
export function toComment(raw: Json): ChatComment | null {
  if (!raw || typeof raw !== 'object') return null;
  const id = String(raw.comment_id ?? raw.id ?? '');
  if (!id) return null;
  let badge: Badge = BADGES.includes(raw.badge) ? raw.badge : 'viewer';
  if (!raw.badge && raw.author_role === 'AUTHOR_ROLE_HOST') badge = 'host';
  if (!raw.badge && raw.author_role === 'AUTHOR_ROLE_ASSOCIATE') badge = 'associate';
  const c: ChatComment = { comment_id: id, badge, text: String(raw.text ?? '') };
  if (raw.session_id) c.session_id = String(raw.session_id);
  if (raw.author_alias) c.author_alias = String(raw.author_alias);
  if (raw.author_id) c.author_id = String(raw.author_id);
  if (raw.reply_to) c.reply_to = String(raw.reply_to);
  const at = raw.at ?? raw.created_at;
  if (at) c.at = String(at);
  if (raw.own) c.own = true;
  return c;
}

/** How a comment's author is named: an i18n key and its values ("Viewer 3f2a", "Host"). */
export function authorLabel(c: ChatComment): { key: string; vars: Record<string, string> } {
  if (c.badge === 'host') return { key: 'chat.host', vars: {} };
  if (c.badge === 'associate') return { key: 'chat.associate', vars: {} };
  return { key: 'chat.viewer', vars: { alias: c.author_alias ?? '' } };
}

/** The room's chat as one screen shows it. Comments are kept in the room's order (the order the
 * socket delivered them), each once, at most `limit` of the latest. */
export class ChatLog {
  comments: ChatComment[] = [];
  announcement = '';
  /** Comments of other viewers the gateway left out of its frames (a busy room), in total. */
  folded = 0;
  likes = 0;
  /** Until when this viewer is muted (RFC 3339), '' when not known to be. */
  mutedUntil = '';
  /** Ops sockets: viewers muted in the room, with until when. */
  mutedViewers = new Map<string, string>();
  private ids = new Set<string>();
  // Ids removed by ops: a copy arriving late (a resend appended twice, a history read before the
  // deletion) must not bring a comment back.
  private deleted = new Set<string>();

  /** `watch`: an ops socket, told of everyone's mutes; a viewer's socket is told only of its own
   * (with or without the viewer's id). */
  constructor(
    readonly limit = 200,
    readonly watch = false,
  ) {}

  has(commentId: string): boolean {
    return this.ids.has(commentId);
  }
  wasDeleted(commentId: string): boolean {
    return this.deleted.has(commentId);
  }
  find(commentId: string | undefined): ChatComment | undefined {
    if (!commentId || !this.ids.has(commentId)) return undefined;
    return this.comments.find((c) => c.comment_id === commentId);
  }

  /** Applies one socket message; true when what the screen shows changed. Messages that are not
   * about the chat are left alone (false). */
  apply(msg: Json): boolean {
    switch (msg?.type) {
      case 'chat_history': {
        // A (re)join: the history is the room's recent, moderated chat; what was shown before is
        // replaced, so a comment deleted while the socket was away goes too.
        this.comments = [];
        this.ids.clear();
        for (const raw of msg.comments ?? []) this.addComment(raw);
        this.announcement = String(msg.announcement ?? '');
        this.trim();
        return true;
      }
      case 'chat': {
        let changed = false;
        for (const item of msg.items ?? []) changed = this.applyItem(item) || changed;
        const folded = Number(msg.folded ?? 0);
        if (Number.isFinite(folded) && folded > 0) {
          this.folded += folded;
          changed = true;
        }
        // The like total rides along when it changed (no "likes" frame then).
        if (msg.likes !== undefined) changed = this.setLikes(msg.likes) || changed;
        this.trim();
        return changed;
      }
      case 'likes':
        return this.setLikes(msg.total);
      case 'like_ack': {
        // The total after this batch: never lowers what a newer "likes" frame said.
        const total = Number(msg.total);
        if (!Number.isFinite(total) || total <= this.likes) return false;
        this.likes = total;
        return true;
      }
      case 'comment':
      case 'comment_deleted':
      case 'announcement':
      case 'viewer_muted': {
        // The same items outside a chat frame: applied alike.
        const changed = this.applyItem(msg);
        this.trim();
        return changed;
      }
      default:
        return false;
    }
  }

  /** The session's total as the server counts it (the truth, about once a second). */
  private setLikes(raw: unknown): boolean {
    const total = Number(raw);
    if (!Number.isFinite(total) || total === this.likes) return false;
    this.likes = total;
    return true;
  }

  /** Removes a comment at once (the sender's screen, before the room confirms). */
  remove(commentId: string): boolean {
    this.deleted.add(commentId);
    if (!this.ids.delete(commentId)) return false;
    this.comments = this.comments.filter((c) => c.comment_id !== commentId);
    return true;
  }

  /** Whether this viewer is muted at nowMs (from a viewer_muted message). */
  isMuted(nowMs: number): boolean {
    const until = Date.parse(this.mutedUntil);
    return !Number.isNaN(until) && until > nowMs;
  }

  private applyItem(item: Json): boolean {
    switch (item?.type) {
      case 'comment':
        return this.addComment(item);
      case 'comment_deleted':
        return this.remove(String(item.comment_id ?? ''));
      case 'announcement': {
        const text = String(item.text ?? '');
        if (text === this.announcement) return false;
        this.announcement = text;
        return true;
      }
      case 'viewer_muted': {
        const until = String(item.until ?? '');
        if (this.watch) this.mutedViewers.set(String(item.viewer_id ?? ''), until);
        else this.mutedUntil = until;
        return true;
      }
      default:
        return false;
    }
  }

  private addComment(raw: Json): boolean {
    const c = toComment(raw);
    if (!c || this.ids.has(c.comment_id) || this.deleted.has(c.comment_id)) return false;
    this.ids.add(c.comment_id);
    this.comments.push(c);
    return true;
  }

  private trim(): void {
    if (this.comments.length <= this.limit) return;
    for (const c of this.comments.splice(0, this.comments.length - this.limit)) this.ids.delete(c.comment_id);
  }
}

/** The room's stats in a socket message: a "stats" frame's, or those a chat frame carries when
 * they changed since the socket's last frame; null when the message has none. */
export function statsOf(msg: Json): Json | null {
  if (msg?.type === 'stats' || msg?.type === 'chat') return msg.stats && typeof msg.stats === 'object' ? msg.stats : null;
  return null;
}

/** A fresh id for a comment ("c-…") or a like batch ("b-…"): random, so a resend is known. */
export function uniqueId(prefix: string): string {
  const b = new Uint8Array(9);
  crypto.getRandomValues(b);
  return `${prefix}-${Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('')}`;
}

// ---- The sender's own comments ----------------------------------------------------------------

export type PendingState = 'sending' | 'sent' | 'held';

export interface PendingComment {
  client_id: string;
  text: string;
  reply_to: string;
  state: PendingState;
  comment_id?: string;
}

export interface CommentFrame {
  type: 'comment';
  client_id: string;
  text: string;
  reply_to: string;
}

function frameOf(p: PendingComment): CommentFrame {
  return { type: 'comment', client_id: p.client_id, text: p.text, reply_to: p.reply_to };
}

/** The comments this screen sent and the room has not shown yet. Each keeps its client_id, so a
 * resend after a reconnect is recognised by the server and never posted twice. */
export class CommentOutbox {
  pending: PendingComment[] = [];

  constructor(private newId: () => string = () => uniqueId('c')) {}

  /** A new comment: the frame to send now (or after the reconnect). */
  add(text: string, replyTo = ''): CommentFrame {
    const p: PendingComment = { client_id: this.newId(), text, reply_to: replyTo, state: 'sending' };
    this.pending.push(p);
    return frameOf(p);
  }

  /** comment_ack: accepted. Held comments wait for ops ("waiting for review"); the others stay
   * until the room's stream shows them (see settle). */
  ack(msg: Json): PendingComment | null {
    const p = this.pending.find((x) => x.client_id === msg?.client_id);
    if (!p) return null;
    p.comment_id = String(msg.comment_id ?? '');
    p.state = msg.held ? 'held' : 'sent';
    return p;
  }

  /** comment_refused: the comment is dropped and returned (its text goes back to the box). */
  refused(msg: Json): PendingComment | null {
    const i = this.pending.findIndex((x) => x.client_id === msg?.client_id);
    if (i < 0) return null;
    return this.pending.splice(i, 1)[0];
  }

  /** Drops the comments the log now shows (or that ops deleted); true when any was dropped. */
  settle(log: ChatLog): boolean {
    const before = this.pending.length;
    this.pending = this.pending.filter((p) => !p.comment_id || !(log.has(p.comment_id) || log.wasDeleted(p.comment_id)));
    return this.pending.length !== before;
  }

  /** What to send again on a new socket: every comment not yet acknowledged, with its own id. */
  resend(): CommentFrame[] {
    return this.pending.filter((p) => p.state === 'sending').map(frameOf);
  }

  /** What the screen shows below the stream: comments on their way, and held ones. */
  visible(): PendingComment[] {
    return this.pending;
  }
}

// ---- The heart -------------------------------------------------------------------------------

export interface LikeBatch {
  type: 'like';
  batch_id: string;
  count: number;
}

/** Taps on the heart, sent as batches: at most one every minIntervalMs (about 3 a second, under
 * the server's 5), of at most maxCount taps each. A batch keeps its id until acknowledged, so
 * one resent after a reconnect counts once. */
export class LikeBatcher {
  private waiting = 0;
  private inflight = new Map<string, number>();
  private lastSent = Number.NEGATIVE_INFINITY;

  constructor(
    private newId: () => string = () => uniqueId('b'),
    readonly minIntervalMs = 350,
    readonly maxCount = 50,
  ) {}

  tap(n = 1): void {
    this.waiting += n;
  }

  /** Milliseconds until the next batch may go (0: now), or null with no taps waiting. */
  dueIn(nowMs: number): number | null {
    if (this.waiting <= 0) return null;
    return Math.max(0, this.lastSent + this.minIntervalMs - nowMs);
  }

  /** The batch to send at nowMs, or null (nothing waiting, or too soon after the last). */
  take(nowMs: number): LikeBatch | null {
    if (this.dueIn(nowMs) !== 0) return null;
    const count = Math.min(this.waiting, this.maxCount);
    this.waiting -= count;
    const batch: LikeBatch = { type: 'like', batch_id: this.newId(), count };
    this.inflight.set(batch.batch_id, count);
    this.lastSent = nowMs;
    return batch;
  }

  ack(batchId: string): void {
    this.inflight.delete(batchId);
  }

  /** like_refused: the batch was not counted. Too fast or unavailable: its taps go out again in a
   * later batch (a new id: the refused one never counted); otherwise they are dropped. */
  refused(batchId: string, reason: string): void {
    const n = this.inflight.get(batchId);
    if (n === undefined) return;
    this.inflight.delete(batchId);
    if (reason === 'too_fast' || reason === 'unavailable') this.waiting += n;
  }

  /** Batches sent and not acknowledged, to send again (same ids) on a new socket. */
  unacked(): LikeBatch[] {
    return [...this.inflight].map(([batch_id, count]) => ({ type: 'like', batch_id, count }));
  }

  /** Taps the server has not confirmed yet: shown on top of the last total it sent. */
  get unconfirmed(): number {
    let n = this.waiting;
    for (const c of this.inflight.values()) n += c;
    return n;
  }
}

// ---- Refusals ----------------------------------------------------------------------------------

/** The reasons the interaction service gives (interaction.proto); each has chat.refused.<reason>. */
export const REFUSAL_REASONS = ['not_in_room', 'banned', 'muted', 'room_not_live', 'too_long', 'blocked_word', 'unsafe_content', 'too_fast', 'room_busy', 'invalid', 'unavailable'] as const;

/** The reason of an HTTP refusal: its `reason` field, else the start of the service's message
 * ("muted: you are muted in this room"), else ''. */
export function refusalReason(reason: string | undefined, message: string): string {
  if (reason) return reason;
  const head = message.split(': ', 1)[0];
  return head !== message && (REFUSAL_REASONS as readonly string[]).includes(head) ? head : '';
}

/** A refusal in words: the i18n key and its values. Muted says until when, if known; a bad input
 * and an unknown reason show the server's own sentence (it names the field). */
export function refusalText(reason: string, message: string, mutedUntil = ''): { key: string; vars: Record<string, string> } {
  if (reason === 'muted' && mutedUntil) return { key: 'chat.refused.mutedUntil', vars: { until: mutedUntil } };
  if ((REFUSAL_REASONS as readonly string[]).includes(reason)) return { key: `chat.refused.${reason}`, vars: { message } };
  return { key: 'chat.refused.other', vars: { message: message || reason } };
}

// ---- Ops -------------------------------------------------------------------------------------

/** The blocked-word editor's text (one word a line; commas, including Chinese ones, also
 * separate) as the list to save: trimmed, without blanks or repeats, in the order typed. */
export function parseWords(text: string): string[] {
  const seen = new Set<string>();
  const words: string[] = [];
  for (const raw of text.split(/[\n\r,，、]+/)) {
    const w = raw.trim();
    if (!w || seen.has(w)) continue;
    seen.add(w);
    words.push(w);
  }
  return words;
}

/** Mute durations offered to ops, in minutes, and their bounds (the service takes 1 s .. 30 days). */
export const MUTE_MINUTES = [5, 10, 30, 60, 1440];
export function muteSeconds(minutes: number): number | null {
  if (!Number.isFinite(minutes) || minutes < 1 || minutes > 30 * 24 * 60) return null;
  return Math.round(minutes * 60);
}

// ---- Questions to the associate ----------------------------------------------------------------

export interface Question {
  name: string;
  text: string;
  roomId: string;
  commentId: string;
}

/** A question alert (a client's comment in a room) as the associate reads it, or null for other
 * alerts. The client is named by what the alert carries (a name when there is one, else the id). */
export function questionOf(alert: Json): Question | null {
  if (alert?.kind !== 'ALERT_KIND_QUESTION') return null;
  return {
    name: String(alert.viewer_name || alert.viewer_id || ''),
    text: String(alert.text ?? ''),
    roomId: String(alert.room_id ?? ''),
    commentId: String(alert.comment_id ?? ''),
  };
}
