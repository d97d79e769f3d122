// Deterministic colours: grids by a hash of their code, facilities by kind.

/** 32-bit FNV-1a hash of a string. */
export function hash(str) {
  let x = 0x811c9dc5;
  const s = String(str ?? '');
  for (let i = 0; i < s.length; i++) {
    x ^= s.charCodeAt(i);
    x = Math.imul(x, 0x01000193) >>> 0;
  }
  return x >>> 0;
}

export function gridColor(code) {
  const x = hash(code);
  const hue = x % 360;
  const light = 45 + ((x >>> 9) % 15);
  return `hsl(${hue}, 70%, ${light}%)`;
}

// Distinct colours for the kinds the demo uses; unknown kinds get a hashed hue.
const KIND_COLORS = {
  toilet: '#1f78b4',
  drinking_water: '#33a5d6',
  parking: '#6a51a3',
  library: '#b15928',
  reading_room: '#b15928',
  community_centre: '#e6550d',
  townhall: '#d62728',
  police: '#393b79',
  hospital: '#c2185b',
  clinic: '#e7298a',
  pharmacy: '#2ca02c',
  supermarket: '#8c6d31',
  convenience: '#bcbd22',
  school: '#17becf',
  kindergarten: '#9edae5',
  elderly_care: '#ff7f0e',
};

export function kindColor(kind) {
  if (KIND_COLORS[kind]) return KIND_COLORS[kind];
  return `hsl(${hash(kind) % 360}, 65%, 42%)`;
}
