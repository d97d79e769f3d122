// All user-visible text comes from locales/*.json. Chinese is the default; English is a switch.
import zh from './locales/zh.json';
import en from './locales/en.json';

const LOCALES = { zh, en };
const STORAGE_KEY = 'gridcircle.lang';
const listeners = [];

function initialLang() {
  const fromUrl = new URLSearchParams(location.search).get('lang');
  if (fromUrl && LOCALES[fromUrl]) return fromUrl;
  try {
    const saved = localStorage.getItem(STORAGE_KEY);
    if (saved && LOCALES[saved]) return saved;
  } catch { /* storage may be disabled */ }
  return 'zh';
}

let lang = initialLang();

export function getLang() {
  return lang;
}

export function setLang(next) {
  if (!LOCALES[next] || next === lang) return;
  lang = next;
  try { localStorage.setItem(STORAGE_KEY, next); } catch { /* ignore */ }
  applyStatic();
  for (const fn of listeners) fn(lang);
}

export function onLangChange(fn) {
  listeners.push(fn);
}

/** Translate `key`, replacing `{name}` with params.name. Falls back to zh, then to the key. */
export function t(key, params) {
  let s = LOCALES[lang][key] ?? LOCALES.zh[key] ?? key;
  if (params) s = s.replace(/\{(\w+)\}/g, (m, k) => (k in params ? String(params[k]) : m));
  return s;
}

/** Translate only if the key exists; otherwise return `fallback`. */
export function tOr(key, fallback) {
  const s = LOCALES[lang][key] ?? LOCALES.zh[key];
  return s ?? fallback;
}

/** Fill elements marked with data-i18n (text) and data-i18n-<attr> (attributes). */
export function applyStatic(root = document) {
  document.documentElement.lang = lang === 'zh' ? 'zh-CN' : 'en';
  document.title = t('app.title');
  for (const el of root.querySelectorAll('[data-i18n]')) el.textContent = t(el.dataset.i18n);
  for (const attr of ['title', 'aria-label', 'placeholder']) {
    const dataKey = 'i18n' + attr.replace(/(^|-)(\w)/g, (m, d, c) => c.toUpperCase());
    for (const el of root.querySelectorAll(`[data-i18n-${attr}]`)) {
      el.setAttribute(attr, t(el.dataset[dataKey]));
    }
  }
}
