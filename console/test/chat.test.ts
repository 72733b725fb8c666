import { describe, expect, it } from 'vitest';
import { LOCALES } from '../src/lib/i18n';
import { authorLabel, ChatLog, CommentOutbox, LikeBatcher, muteSeconds, parseWords, questionOf, REFUSAL_REASONS, refusalReason, refusalText, statsOf, toComment, uniqueId } from '../src/lib/chat';

const comment = (id: string, text = `text ${id}`, extra: Record<string, unknown> = {}) => ({ type: 'comment', comment_id: id, session_id: '77', author_alias: '3f2a', badge: 'viewer', text, reply_to: '', at: '2026-12-07T06:00:00.123Z', own: false, ...extra });
const ids = (log: ChatLog) => log.comments.map((c) => c.comment_id);

describe('the comment stream', () => {
  it('starts from the history, then appends chat frames in the order they come', () => {
    const log = new ChatLog();
    expect(log.apply({ type: 'chat_history', comments: [comment('1'), comment('2')], announcement: 'Free shipping today' })).toBe(true);
    expect(ids(log)).toEqual(['1', '2']);
    expect(log.announcement).toBe('Free shipping today');
    expect(log.apply({ type: 'chat', items: [comment('3'), comment('4', 'hi', { badge: 'host' })], folded: 0 })).toBe(true);
    expect(ids(log)).toEqual(['1', '2', '3', '4']);
    expect(log.find('4')?.badge).toBe('host');
  });
  it('shows a comment once, however often it is delivered', () => {
    const log = new ChatLog();
    log.apply({ type: 'chat_history', comments: [comment('1')] });
    expect(log.apply({ type: 'chat', items: [comment('1'), comment('2'), comment('2')] })).toBe(true);
    expect(ids(log)).toEqual(['1', '2']);
    expect(log.apply({ type: 'chat', items: [comment('2')], folded: 0 })).toBe(false);
  });
  it('removes a deleted comment and never shows it again, even from a late copy or a history', () => {
    const log = new ChatLog();
    log.apply({ type: 'chat', items: [comment('1'), comment('2')] });
    expect(log.apply({ type: 'chat', items: [{ type: 'comment_deleted', comment_id: '1' }] })).toBe(true);
    expect(ids(log)).toEqual(['2']);
    log.apply({ type: 'chat', items: [comment('1')] });
    log.apply({ type: 'chat_history', comments: [comment('1'), comment('2')] });
    expect(ids(log)).toEqual(['2']);
    // A deletion as a frame of its own is applied alike; of an unknown comment, nothing changes.
    expect(log.apply({ type: 'comment_deleted', comment_id: '2' })).toBe(true);
    expect(log.apply({ type: 'comment_deleted', comment_id: '99' })).toBe(false);
    expect(ids(log)).toEqual([]);
  });
  it('replaces what it showed with the history of a new join', () => {
    const log = new ChatLog();
    log.apply({ type: 'chat', items: [comment('1'), comment('2')] });
    log.apply({ type: 'chat_history', comments: [comment('2'), comment('3')], announcement: '' });
    expect(ids(log)).toEqual(['2', '3']);
    expect(log.has('1')).toBe(false);
  });
  it('pins, changes and removes the announcement', () => {
    const log = new ChatLog();
    log.apply({ type: 'chat', items: [{ type: 'announcement', text: '8 pm: the black 25 cm' }] });
    expect(log.announcement).toBe('8 pm: the black 25 cm');
    expect(log.apply({ type: 'chat', items: [{ type: 'announcement', text: '8 pm: the black 25 cm' }] })).toBe(false);
    log.apply({ type: 'chat', items: [{ type: 'announcement', text: '' }] });
    expect(log.announcement).toBe('');
  });
  it('adds up the comments folded out of busy frames', () => {
    const log = new ChatLog();
    log.apply({ type: 'chat', items: [comment('1')], folded: 12 });
    expect(log.apply({ type: 'chat', items: [], folded: 3 })).toBe(true);
    expect(log.folded).toBe(15);
    expect(log.apply({ type: 'chat', items: [], folded: 0 })).toBe(false);
  });
  it('keeps the latest comments only, up to its limit', () => {
    const log = new ChatLog(3);
    log.apply({ type: 'chat', items: ['1', '2', '3', '4', '5'].map((id) => comment(id)) });
    expect(ids(log)).toEqual(['3', '4', '5']);
    expect(log.has('1')).toBe(false);
    // One that scrolled away is shown again if delivered again (it was not deleted).
    log.apply({ type: 'chat', items: [comment('1')] });
    expect(ids(log)).toEqual(['4', '5', '1']);
  });
  it('knows its own mute (viewer sockets) and the mutes of others (ops sockets)', () => {
    const log = new ChatLog();
    const now = Date.parse('2026-12-07T06:00:00Z');
    expect(log.isMuted(now)).toBe(false);
    log.apply({ type: 'chat', items: [{ type: 'viewer_muted', until: '2026-12-07T06:10:00Z' }] });
    expect(log.isMuted(now)).toBe(true);
    expect(log.isMuted(now + 11 * 60_000)).toBe(false);
    // The viewer's own id may come along: still their own mute.
    const named = new ChatLog();
    named.apply({ type: 'chat', items: [{ type: 'viewer_muted', viewer_id: 'oMe', until: '2026-12-07T06:10:00Z' }] });
    expect(named.isMuted(now)).toBe(true);
    const ops = new ChatLog(500, true);
    ops.apply({ type: 'chat', items: [{ type: 'viewer_muted', viewer_id: 'oAbc', until: '2026-12-07T06:10:00Z' }] });
    expect(ops.mutedViewers.get('oAbc')).toBe('2026-12-07T06:10:00Z');
    expect(ops.isMuted(now)).toBe(false);
  });
  it('takes the like total from likes frames, and from acks only upwards', () => {
    const log = new ChatLog();
    expect(log.apply({ type: 'likes', total: 120 })).toBe(true);
    expect(log.apply({ type: 'like_ack', batch_id: 'b-1', total: 110, counted: true })).toBe(false);
    expect(log.likes).toBe(120);
    expect(log.apply({ type: 'like_ack', batch_id: 'b-2', total: 125, counted: true })).toBe(true);
    expect(log.likes).toBe(125);
    expect(log.apply({ type: 'likes', total: 125 })).toBe(false);
  });
  it('takes the like total a chat frame carries, with or without comments in it', () => {
    const log = new ChatLog();
    expect(log.apply({ type: 'chat', items: [comment('1')], folded: 0, likes: 1239 })).toBe(true);
    expect(log.likes).toBe(1239);
    expect(ids(log)).toEqual(['1']);
    expect(log.apply({ type: 'chat', items: [], folded: 0, likes: 1500 })).toBe(true);
    expect(log.likes).toBe(1500);
    // The same total again changes nothing; a frame without one keeps the last.
    expect(log.apply({ type: 'chat', items: [], folded: 0, likes: 1500 })).toBe(false);
    expect(log.apply({ type: 'chat', items: [comment('2')], folded: 0 })).toBe(true);
    expect(log.likes).toBe(1500);
  });
  it('finds the room stats in stats frames and in the chat frames that carry them', () => {
    const stats = { room_id: '1', concurrent_viewers: '9874' };
    expect(statsOf({ type: 'stats', stats })).toEqual(stats);
    expect(statsOf({ type: 'chat', items: [], folded: 0, stats })).toEqual(stats);
    expect(statsOf({ type: 'chat', items: [], folded: 0 })).toBeNull();
    expect(statsOf({ type: 'likes', total: 3 })).toBeNull();
    expect(statsOf({ type: 'stats', stats: 'nonsense' })).toBeNull();
  });
  it('leaves the room socket\'s other messages alone', () => {
    const log = new ChatLog();
    expect(log.apply({ type: 'stats', stats: {} })).toBe(false);
    expect(log.apply({ type: 'pong' })).toBe(false);
    expect(log.apply(null)).toBe(false);
  });
});

describe('comments from the socket and from HTTP', () => {
  it('reads both shapes', () => {
    expect(toComment(comment('9', 'hello', { reply_to: '8', own: true, author_id: 'oMe' }))).toEqual({ comment_id: '9', session_id: '77', author_alias: '3f2a', author_id: 'oMe', badge: 'viewer', text: 'hello', reply_to: '8', at: '2026-12-07T06:00:00.123Z', own: true });
    expect(toComment({ id: '5', room_id: '1', author_role: 'AUTHOR_ROLE_ASSOCIATE', text: '是的，黑色还有', created_at: '2026-12-07T06:00:00Z', status: 'COMMENT_STATUS_HELD' })).toMatchObject({ comment_id: '5', badge: 'associate', at: '2026-12-07T06:00:00Z' });
    expect(toComment({ id: '6', author_role: 'AUTHOR_ROLE_HOST', text: 'x' })?.badge).toBe('host');
    expect(toComment({ text: 'no id' })).toBeNull();
  });
  it('names authors by their badge', () => {
    expect(authorLabel(toComment(comment('1'))!)).toEqual({ key: 'chat.viewer', vars: { alias: '3f2a' } });
    expect(authorLabel(toComment(comment('1', 'x', { badge: 'host' }))!).key).toBe('chat.host');
    expect(authorLabel(toComment(comment('1', 'x', { badge: 'associate' }))!).key).toBe('chat.associate');
    // An unknown badge shows as a viewer (never as staff).
    expect(toComment(comment('1', 'x', { badge: 'admin' }))?.badge).toBe('viewer');
  });
});

describe('the sender\'s own comments', () => {
  const counter = () => {
    let n = 0;
    return () => `c-${++n}`;
  };
  it('gives each comment its id and resends the unacknowledged ones with the same ids', () => {
    const box = new CommentOutbox(counter());
    expect(box.add('is the 25 cm in black still available?')).toEqual({ type: 'comment', client_id: 'c-1', text: 'is the 25 cm in black still available?', reply_to: '' });
    box.add('and in red?', '980');
    box.ack({ type: 'comment_ack', client_id: 'c-1', comment_id: '981', duplicate: false, held: false });
    expect(box.resend()).toEqual([{ type: 'comment', client_id: 'c-2', text: 'and in red?', reply_to: '980' }]);
    // After the reconnect, the resend is acknowledged (a duplicate when the first had arrived).
    box.ack({ type: 'comment_ack', client_id: 'c-2', comment_id: '982', duplicate: true, held: false });
    expect(box.resend()).toEqual([]);
  });
  it('shows a sent comment until the stream brings it', () => {
    const box = new CommentOutbox(counter());
    const log = new ChatLog();
    box.add('hello');
    box.ack({ client_id: 'c-1', comment_id: '981', held: false });
    expect(box.settle(log)).toBe(false);
    expect(box.visible().map((p) => p.state)).toEqual(['sent']);
    log.apply({ type: 'chat', items: [comment('981', 'hello', { own: true })] });
    expect(box.settle(log)).toBe(true);
    expect(box.visible()).toEqual([]);
  });
  it('keeps a held comment as waiting for review until it is approved or deleted', () => {
    const box = new CommentOutbox(counter());
    const log = new ChatLog();
    box.add('a question');
    box.add('another');
    expect(box.ack({ client_id: 'c-1', comment_id: '990', held: true })?.state).toBe('held');
    box.ack({ client_id: 'c-2', comment_id: '991', held: true });
    box.settle(log);
    expect(box.visible().map((p) => p.state)).toEqual(['held', 'held']);
    expect(box.resend()).toEqual([]);
    log.apply({ type: 'chat', items: [comment('990', 'a question', { own: true }), { type: 'comment_deleted', comment_id: '991' }] });
    box.settle(log);
    expect(box.visible()).toEqual([]);
  });
  it('hands a refused comment back and forgets it', () => {
    const box = new CommentOutbox(counter());
    box.add('buy cheap 代购');
    expect(box.refused({ type: 'comment_refused', client_id: 'c-1', reason: 'blocked_word', message: '...' })?.text).toBe('buy cheap 代购');
    expect(box.visible()).toEqual([]);
    expect(box.refused({ client_id: 'c-1' })).toBeNull();
    expect(box.ack({ client_id: 'c-9', comment_id: '1' })).toBeNull();
  });
  it('makes ids the server accepts, different each time', () => {
    const a = uniqueId('c');
    expect(a).toMatch(/^c-[0-9a-f]{18}$/);
    expect(uniqueId('c')).not.toBe(a);
    expect(new CommentOutbox().add('x').client_id).toMatch(/^c-/);
  });
});

describe('the heart', () => {
  const counter = () => {
    let n = 0;
    return () => `b-${++n}`;
  };
  it('sends taps in batches, at most one per interval (about 3 a second)', () => {
    const likes = new LikeBatcher(counter(), 350, 50);
    expect(likes.dueIn(0)).toBeNull();
    expect(likes.take(0)).toBeNull();
    likes.tap();
    likes.tap();
    expect(likes.dueIn(1000)).toBe(0);
    expect(likes.take(1000)).toEqual({ type: 'like', batch_id: 'b-1', count: 2 });
    likes.tap();
    expect(likes.dueIn(1100)).toBe(250);
    expect(likes.take(1100)).toBeNull();
    likes.tap(4);
    expect(likes.take(1350)).toEqual({ type: 'like', batch_id: 'b-2', count: 5 });
    // 20 taps a second for 10 s: no more than 3 batches in any second.
    const fast = new LikeBatcher(counter(), 350, 50);
    const sentAt: number[] = [];
    for (let ms = 0; ms < 10_000; ms += 50) {
      fast.tap();
      if (fast.take(ms)) sentAt.push(ms);
    }
    for (const t of sentAt) expect(sentAt.filter((x) => x >= t && x < t + 1000).length).toBeLessThanOrEqual(3);
  });
  it('never puts more than the maximum in one batch', () => {
    const likes = new LikeBatcher(counter(), 350, 50);
    likes.tap(120);
    expect(likes.take(0)?.count).toBe(50);
    expect(likes.take(350)?.count).toBe(50);
    expect(likes.take(700)?.count).toBe(20);
    expect(likes.unconfirmed).toBe(120);
  });
  it('resends unacknowledged batches with their ids, so none counts twice', () => {
    const likes = new LikeBatcher(counter());
    likes.tap(3);
    likes.take(0);
    likes.tap(2);
    likes.take(400);
    likes.ack('b-1');
    expect(likes.unacked()).toEqual([{ type: 'like', batch_id: 'b-2', count: 2 }]);
    expect(likes.unconfirmed).toBe(2);
    likes.ack('b-2');
    expect(likes.unconfirmed).toBe(0);
  });
  it('sends taps of a batch refused as too fast again, and drops them when the room is not live', () => {
    const likes = new LikeBatcher(counter());
    likes.tap(3);
    likes.take(0);
    likes.refused('b-1', 'too_fast');
    expect(likes.unacked()).toEqual([]);
    expect(likes.take(400)).toEqual({ type: 'like', batch_id: 'b-2', count: 3 });
    likes.refused('b-2', 'room_not_live');
    expect(likes.unconfirmed).toBe(0);
  });
});

describe('refusals in words', () => {
  it('has a sentence for every reason, in both languages', () => {
    for (const reason of REFUSAL_REASONS) {
      const { key } = refusalText(reason, 'm');
      expect(LOCALES.en[key], key).toBeTruthy();
      expect(LOCALES['zh-CN'][key], key).toBeTruthy();
    }
    for (const key of ['chat.refused.mutedUntil', 'chat.refused.other']) {
      expect(LOCALES.en[key]).toBeTruthy();
      expect(LOCALES['zh-CN'][key]).toBeTruthy();
    }
  });
  it('says until when a muted viewer is muted, when known', () => {
    expect(refusalText('muted', 'muted: you are muted', '2026-12-07T06:10:00Z')).toEqual({ key: 'chat.refused.mutedUntil', vars: { until: '2026-12-07T06:10:00Z' } });
    expect(refusalText('muted', 'muted: you are muted').key).toBe('chat.refused.muted');
  });
  it('reads the reason of an HTTP refusal from its field, or from the start of the message', () => {
    expect(refusalReason('too_fast', 'whatever')).toBe('too_fast');
    expect(refusalReason('', 'muted: you are muted in this room')).toBe('muted');
    expect(refusalReason(undefined, 'blocked_word: not allowed')).toBe('blocked_word');
    expect(refusalReason('', 'room 9: not found')).toBe('');
    expect(refusalReason('', 'muted')).toBe('');
  });
  it('shows the server\'s sentence for bad input and unknown reasons', () => {
    expect(refusalText('invalid', 'text: must not be blank')).toEqual({ key: 'chat.refused.invalid', vars: { message: 'text: must not be blank' } });
    expect(LOCALES.en['chat.refused.invalid']).toContain('{message}');
    expect(refusalText('something_new', 'try later')).toEqual({ key: 'chat.refused.other', vars: { message: 'try later' } });
    expect(refusalText('something_new', '')).toEqual({ key: 'chat.refused.other', vars: { message: 'something_new' } });
  });
});

describe('ops', () => {
  it('reads the blocked-word editor a word a line, or separated by commas', () => {
    expect(parseWords(' 代购 \n\nfake\r\n微信，加我、fake, wechat ')).toEqual(['代购', 'fake', '微信', '加我', 'wechat']);
    expect(parseWords('  \n ')).toEqual([]);
  });
  it('turns minutes of mute into seconds within what the service takes', () => {
    expect(muteSeconds(10)).toBe(600);
    expect(muteSeconds(0)).toBeNull();
    expect(muteSeconds(Number.NaN)).toBeNull();
    expect(muteSeconds(30 * 24 * 60)).toBe(2_592_000);
    expect(muteSeconds(30 * 24 * 60 + 1)).toBeNull();
  });
});

describe('questions to the associate', () => {
  it('reads a question alert, naming the client', () => {
    expect(questionOf({ id: '7', kind: 'ALERT_KIND_QUESTION', viewer_id: 'oLi', room_id: '42', comment_id: '981', text: '25 cm 黑色还有吗？' })).toEqual({ name: 'oLi', text: '25 cm 黑色还有吗？', roomId: '42', commentId: '981' });
    expect(questionOf({ kind: 'ALERT_KIND_QUESTION', viewer_id: 'oLi', viewer_name: 'Mme Li', text: 'x' })?.name).toBe('Mme Li');
    expect(questionOf({ kind: 'ALERT_KIND_PAID', viewer_id: 'oLi' })).toBeNull();
  });
});
