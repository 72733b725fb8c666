// Labels in Simplified Chinese (the default: the users are brand teams in China) and English. One
// dictionary per locale (src/locales/); a key missing in the chosen locale falls back to English,
// then to the key itself, so a missing translation shows up but never breaks a page.
import { en } from '../locales/en';
import { zhCN } from '../locales/zh-CN';

export type Locale = 'zh-CN' | 'en';
export type Dict = Record<string, string>;

export const LOCALES: Record<Locale, Dict> = { 'zh-CN': zhCN, en };
export const DEFAULT_LOCALE: Locale = 'zh-CN';

let current: Locale = DEFAULT_LOCALE;

export function setLocale(locale: string): Locale {
  current = (locale in LOCALES ? locale : DEFAULT_LOCALE) as Locale;
  return current;
}

export function getLocale(): Locale {
  return current;
}

/** The label for `key` in `locale` (default: the current one), with {name} placeholders filled. */
export function translate(key: string, vars: Record<string, string | number> = {}, locale: Locale = current): string {
  const text = LOCALES[locale]?.[key] ?? LOCALES.en[key] ?? key;
  return text.replace(/\{(\w+)\}/g, (m, name: string) => (name in vars ? String(vars[name]) : m));
}

export const t = translate;

/** An enum value's label: VISIBILITY_PRIVATE → "Private" / "私密". Unknown values show as they are. */
export function tEnum(value: string | undefined | null): string {
  if (!value) return '';
  const key = `enum.${value}`;
  const text = translate(key);
  return text === key ? value : text;
}

/** Keys present in English but missing in `locale` (a unit test keeps this empty). */
export function missingKeys(locale: Locale): string[] {
  return Object.keys(LOCALES.en).filter((k) => !(k in LOCALES[locale]));
}
