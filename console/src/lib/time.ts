// Timestamps: the API speaks RFC 3339 (UTC); <input type="datetime-local"> speaks local time.

function pad(n: number): string {
  return String(n).padStart(2, '0');
}

/** A Date → the value of a datetime-local input (local time, minutes). */
export function toLocalInput(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}`;
}

/** A datetime-local or date input's value → RFC 3339 UTC ("" stays ""). */
export function localInputToRfc3339(value: string): string {
  if (!value) return '';
  const d = new Date(value.length === 10 ? `${value}T00:00` : value);
  if (Number.isNaN(d.getTime())) return '';
  return d.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

/** An API timestamp → a short local date-time for tables. */
export function formatTime(ts: string | undefined | null, locale = 'zh-CN'): string {
  if (!ts) return '';
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return '';
  return d.toLocaleString(locale, { year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit' });
}

/** A date input value (yyyy-mm-dd) for a Date, local. */
export function toDateInput(d: Date): string {
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}
