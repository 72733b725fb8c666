// Ops: the brand's rooms, and a new one.
import type { Ctx } from '../app';
import { errorText } from '../app';
import { field, h, select, table } from '../lib/dom';
import { AUDIENCES, FORMATS, OBJECTIVES, options, VISIBILITIES } from '../lib/enums';
import { getLocale, t, tEnum } from '../lib/i18n';
import { formatTime, localInputToRfc3339, toLocalInput } from '../lib/time';
import type { Json } from '../lib/api';

/** The room form's fields (create and edit). */
export function roomFields(room: Json | null): HTMLElement[] {
  const start = room?.scheduled_start ? toLocalInput(new Date(room.scheduled_start)) : toLocalInput(new Date(Date.now() + 3600_000));
  const end = room?.scheduled_end ? toLocalInput(new Date(room.scheduled_end)) : '';
  const audiences: string[] = room?.audiences ?? ['AUDIENCE_CLIENTS'];
  return [
    field(t('room.title'), h('input', { name: 'title', required: true, maxlength: 200, value: room?.title ?? '' })),
    field(t('room.description'), h('textarea', { name: 'description', rows: 2 }, room?.description ?? '')),
    h(
      'div',
      { class: 'row' },
      field(t('room.start'), h('input', { name: 'scheduled_start', type: 'datetime-local', required: true, value: start })),
      field(t('room.scheduledEnd'), h('input', { name: 'scheduled_end', type: 'datetime-local', value: end })),
    ),
    h(
      'div',
      { class: 'row' },
      field(t('room.visibility'), select('visibility', options(VISIBILITIES), room?.visibility ?? 'VISIBILITY_PUBLIC')),
      field(t('room.objective'), select('objective', options(OBJECTIVES), room?.objective ?? 'OBJECTIVE_PURCHASE')),
      field(t('room.format'), select('format', options(FORMATS), room?.format ?? 'FORMAT_SALES_DRIVEN')),
    ),
    h(
      'fieldset',
      { class: 'checks' },
      h('legend', {}, t('room.audiences')),
      ...AUDIENCES.map((a) => h('label', {}, h('input', { type: 'checkbox', name: 'audiences', value: a, checked: audiences.includes(a) }), ' ', tEnum(a))),
    ),
    h(
      'div',
      { class: 'field check' },
      h('label', {}, h('input', { type: 'checkbox', name: 'start_on_publish', value: '1', checked: room?.start_on_publish === true, 'aria-describedby': 'start-on-publish-hint' }), ' ', t('room.startOnPublish')),
      h('span', { class: 'hint', id: 'start-on-publish-hint' }, t('room.startOnPublishHint')),
    ),
  ];
}

/** The form's values as a CreateRoom / UpdateRoom body. */
export function roomBody(form: HTMLFormElement, forUpdate: boolean): Json {
  const data = new FormData(form);
  const audiences = data.getAll('audiences').map(String);
  const body: Json = {
    title: String(data.get('title') ?? ''),
    description: String(data.get('description') ?? ''),
    scheduled_start: localInputToRfc3339(String(data.get('scheduled_start') ?? '')),
    visibility: data.get('visibility'),
    objective: data.get('objective'),
    format: data.get('format'),
  };
  const end = localInputToRfc3339(String(data.get('scheduled_end') ?? ''));
  if (end) body.scheduled_end = end;
  body.start_on_publish = data.get('start_on_publish') !== null;
  body.audiences = forUpdate ? { audiences } : audiences;
  return body;
}

export async function roomsPage(ctx: Ctx): Promise<void> {
  const list = h('section', { class: 'card', 'aria-labelledby': 'rooms-title' }, h('h1', { id: 'rooms-title' }, t('rooms.title')));
  const formError = h('p', { class: 'error', role: 'alert' });
  const form = h(
    'form',
    {
      class: 'card',
      'aria-labelledby': 'new-room-title',
      onsubmit: async (e: Event) => {
        e.preventDefault();
        formError.textContent = '';
        try {
          const res = await ctx.api.post('/v1/rooms', roomBody(form, false));
          forget();
          ctx.notify(t('rooms.created'));
          ctx.navigate(`#/rooms/${res.room.id}`);
        } catch (err) {
          formError.textContent = errorText(err);
        }
      },
    },
    h('h2', { id: 'new-room-title' }, t('rooms.new')),
    ...roomFields(null),
    h('button', { type: 'submit' }, t('rooms.create')),
    formError,
  );
  const forget = ctx.keep('new-room', form);
  ctx.root.append(list, form);
  const res = await ctx.api.get('/v1/rooms', { page_size: 100 });
  const rooms: Json[] = res.rooms ?? [];
  list.append(
    rooms.length
      ? table(
          t('rooms.title'),
          [t('room.title'), t('room.status'), t('room.visibility'), t('room.audiences'), t('room.objective'), t('room.format'), t('room.start'), ''],
          rooms.map((r) => [
            h('a', { href: `#/rooms/${r.id}` }, r.title),
            h('span', { class: `badge ${r.status}` }, tEnum(r.status)),
            tEnum(r.visibility),
            (r.audiences ?? []).map(tEnum).join(', '),
            tEnum(r.objective),
            tEnum(r.format),
            formatTime(r.scheduled_start, getLocale()),
            r.status === 'ROOM_STATUS_LIVE' ? h('a', { href: `#/live/${r.id}`, class: 'button small' }, t('room.dashboard')) : '',
          ]),
        )
      : h('p', { class: 'empty' }, t('rooms.none')),
  );
}
