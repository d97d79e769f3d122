// Formatting of values from the API, in the current language.
import { t, tOr, getLang } from './i18n.js';

export function num(x, digits = 0) {
  if (x === null || x === undefined || x === '' || Number.isNaN(+x)) return '—';
  return (+x).toLocaleString(getLang() === 'zh' ? 'zh-CN' : 'en', { maximumFractionDigits: digits });
}

export function pct(x) {
  if (x === null || x === undefined || Number.isNaN(+x)) return '—';
  return t('unit.percent', { n: num(x, 1) });
}

export function text(x) {
  return x === null || x === undefined || x === '' ? '—' : String(x);
}

export function metres(d) {
  return t('unit.metres', { n: num(d, 0) });
}

export function minutesText(m) {
  if (m === null || m === undefined) return '—';
  return t('unit.walk_minutes', { n: m < 1 ? '<1' : num(Math.round(m)) });
}

export function audienceLabel(a) {
  if (!a) return '—';
  return tOr(`audience.${a}`, a);
}

export function buildingLabel(tag) {
  if (!tag) return '—';
  return tOr(`building.${tag}`, tag);
}

const RFC3339 = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/;

function parseLocal(iso) {
  const m = RFC3339.exec(iso || '');
  if (!m) return null;
  const [, y, mo, d, hh, mm, off] = m;
  let offMin = 0;
  if (off && off !== 'Z') {
    const sign = off[0] === '-' ? -1 : 1;
    const digits = off.slice(1).replace(':', '');
    offMin = sign * (parseInt(digits.slice(0, 2), 10) * 60 + parseInt(digits.slice(2), 10));
  }
  return { date: `${y}-${mo}-${d}`, hm: `${hh}:${mm}`, offMin, day: Date.UTC(+y, +mo - 1, +d) / 86400000 };
}

/** The calendar day of instant `ms` at a UTC offset, as days since 1970-01-01. */
function dayAt(ms, offMin) {
  return Math.floor((ms + offMin * 60000) / 86400000);
}

/**
 * A time of day for an RFC 3339 time with an offset, in that offset (the facility's own local
 * time, not the browser's): "18:00" on the reference day, "明天 08:00" the day after, a weekday
 * within the week, else "11-30 08:00". `reference` is the instant the state was computed for
 * (the query's `at`), default now.
 */
export function localTime(iso, reference) {
  const p = parseLocal(iso);
  if (!p) return iso ? String(iso) : '';
  const refMs = reference ? Date.parse(reference) : Date.now();
  const diff = p.day - dayAt(Number.isFinite(refMs) ? refMs : Date.now(), p.offMin);
  if (diff === 0) return p.hm;
  if (diff === 1) return t('time.tomorrow', { time: p.hm });
  if (diff > 1 && diff < 7) {
    const weekday = new Date(p.day * 86400000).getUTCDay();
    return t('time.weekday', { day: t(`weekday.${weekday}`), time: p.hm });
  }
  return t('time.dated', { date: p.date.slice(5), time: p.hm });
}

/** { cls, label } for an `open` object {state, next_change}: "营业中 · 18:00 关闭". */
export function openState(open, reference) {
  const state = open && ['open', 'closed', 'unknown'].includes(open.state) ? open.state : 'unknown';
  let label = t(`open.${state}`);
  if (open && state !== 'unknown') {
    if (open.next_change) {
      label += ' · ' + t(state === 'open' ? 'open.closes_at' : 'open.opens_at', { time: localTime(open.next_change, reference) });
    } else if (state === 'open') {
      label += ' · ' + t('open.always');
    }
  }
  return { cls: `state-${state}`, label };
}

/** "空位 25 / 共 60" for parking, from `free` and `capacity`. */
export function spacesText(p) {
  const cap = p.capacity;
  const free = p.free;
  const has = (x) => x !== null && x !== undefined;
  if (typeof free === 'number' && has(cap)) return t('facility.free_of_total', { free: num(free), total: num(cap) });
  if (typeof free === 'number') return t('facility.free_spaces', { n: num(free) });
  if (has(cap)) return t('facility.capacity_n', { n: num(cap) });
  return null;
}
