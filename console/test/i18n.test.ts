import { describe, expect, it } from 'vitest';
import { LOCALES, missingKeys, setLocale, t, tEnum, translate } from '../src/lib/i18n';

describe('i18n', () => {
  it('has every English key in Chinese, and no Chinese-only keys', () => {
    expect(missingKeys('zh-CN')).toEqual([]);
    expect(Object.keys(LOCALES['zh-CN']).filter((k) => !(k in LOCALES.en))).toEqual([]);
  });
  it('defaults to Chinese and switches', () => {
    expect(setLocale('nonsense')).toBe('zh-CN');
    expect(t('rooms.title')).toBe('直播间');
    setLocale('en');
    expect(t('rooms.title')).toBe('Rooms');
    setLocale('zh-CN');
  });
  it('fills placeholders and leaves unknown ones', () => {
    expect(translate('h5.watching', { n: 3 }, 'en')).toBe('3 watching');
    expect(translate('h5.watching', {}, 'en')).toBe('{n} watching');
  });
  it('falls back to English, then to the key', () => {
    LOCALES.en['test.only'] = 'English only';
    expect(translate('test.only', {}, 'zh-CN')).toBe('English only');
    delete LOCALES.en['test.only'];
    expect(translate('no.such.key', {}, 'zh-CN')).toBe('no.such.key');
  });
  it('labels enums and shows unknown values as they are', () => {
    setLocale('en');
    expect(tEnum('VISIBILITY_PRIVATE')).toBe('Private');
    expect(tEnum('SOMETHING_NEW')).toBe('SOMETHING_NEW');
    expect(tEnum(undefined)).toBe('');
    setLocale('zh-CN');
    expect(tEnum('ALERT_KIND_PAID')).toBe('已支付');
  });
  it('uses every key the pages (and the parts they share) use', async () => {
    const { readFileSync, readdirSync } = await import('node:fs');
    const used = new Set<string>();
    for (const d of ['../src/pages/', '../src/lib/']) {
      const dir = new URL(d, import.meta.url);
      for (const f of readdirSync(dir)) {
        const src = readFileSync(new URL(f, dir), 'utf8');
        for (const m of src.matchAll(/\bt\('([a-zA-Z0-9_.]+)'/g)) used.add(m[1]);
      }
    }
    expect(used.has('player.unmute')).toBe(true);
    expect([...used].filter((k) => !(k in LOCALES.en))).toEqual([]);
  });
});
