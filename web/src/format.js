// Formatting of values from the API, in the current language.
import { t, tOr, getLang } from './i18n.js';

export function num(x, digits = 0) {
  if (x === null || x === undefined || x === '' || Number.isNaN(+x)) return '—';
  return (+x).toLocaleString(getLang() === 'zh' ? 'zh-CN' : 'en', { maximumFractionDigits: digits });
}

export function text(x) {
  return x === null || x === undefined || x === '' ? '—' : String(x);
}

export function metres(d) {
  return t('unit.metres', { n: num(d, 0) });
}

export function audienceLabel(a) {
  if (!a) return '—';
  return tOr(`audience.${a}`, a);
}

export function buildingLabel(tag) {
  if (!tag) return '—';
  return tOr(`building.${tag}`, tag);
}

/**
 * "HH:mm", or "MM-DD HH:mm" when not today, read from an RFC 3339 time with an offset and
 * shown in that offset (the facility's local time), not the browser's time zone.
 */
export function localTime(iso) {
  const m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::\d{2}(?:\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$/.exec(iso || '');
  if (!m) return iso ? String(iso) : '';
  const [, y, mo, d, hh, mm, off] = m;
  let offMin = 0;
  if (off && off !== 'Z') {
    const sign = off[0] === '-' ? -1 : 1;
    const digits = off.slice(1).replace(':', '');
    offMin = sign * (parseInt(digits.slice(0, 2), 10) * 60 + parseInt(digits.slice(2), 10));
  }
  const todayThere = new Date(Date.now() + offMin * 60000).toISOString().slice(0, 10);
  const hm = `${hh}:${mm}`;
  return todayThere === `${y}-${mo}-${d}` ? hm : t('time.dated', { date: `${mo}-${d}`, time: hm });
}

/** { cls, label } for an `open` object: {state, next_change}. */
export function openState(open) {
  const state = open && ['open', 'closed', 'unknown'].includes(open.state) ? open.state : 'unknown';
  let label = t(`open.${state}`);
  if (open && open.next_change && state !== 'unknown') {
    label += ' · ' + t(state === 'open' ? 'open.closes_at' : 'open.opens_at', { time: localTime(open.next_change) });
  }
  return { cls: `state-${state}`, label };
}
