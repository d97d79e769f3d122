// Small geometry helpers on GeoJSON coordinates (lon/lat degrees).

export function validBbox(b) {
  return Array.isArray(b) && b.length >= 4 && b.slice(0, 4).every(Number.isFinite) &&
    b[0] <= b[2] && b[1] <= b[3] && b[0] >= -180 && b[2] <= 180 && b[1] >= -90 && b[3] <= 90;
}

export function unionBbox(a, b) {
  if (!a) return b;
  if (!b) return a;
  return [Math.min(a[0], b[0]), Math.min(a[1], b[1]), Math.max(a[2], b[2]), Math.max(a[3], b[3])];
}

export function contains(outer, inner) {
  return outer && inner[0] >= outer[0] && inner[1] >= outer[1] && inner[2] <= outer[2] && inner[3] <= outer[3];
}

export function geometryBbox(g) {
  let box = null;
  const visit = (c) => {
    if (typeof c[0] === 'number') {
      if (Number.isFinite(c[0]) && Number.isFinite(c[1])) box = unionBbox(box, [c[0], c[1], c[0], c[1]]);
    } else for (const x of c) visit(x);
  };
  const visitGeom = (geom) => {
    if (!geom) return;
    if (geom.type === 'GeometryCollection') geom.geometries.forEach(visitGeom);
    else if (geom.coordinates) visit(geom.coordinates);
  };
  visitGeom(g);
  return box;
}

export function featuresBbox(features) {
  let box = null;
  for (const f of features) box = unionBbox(box, geometryBbox(f.geometry));
  return validBbox(box) ? box : null;
}

/** The polygons of a Polygon or MultiPolygon geometry, as lists of rings. */
export function polygonsOf(g) {
  if (!g) return [];
  if (g.type === 'Polygon') return [g.coordinates];
  if (g.type === 'MultiPolygon') return g.coordinates;
  return [];
}

function inRing(p, ring) {
  let inside = false;
  for (let i = 0, j = ring.length - 1; i < ring.length; j = i++) {
    const [xi, yi] = ring[i];
    const [xj, yj] = ring[j];
    if ((yi > p[1]) !== (yj > p[1]) && p[0] < ((xj - xi) * (p[1] - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/** True when [lon, lat] is inside a Polygon or MultiPolygon (holes respected). */
export function pointInGeometry(p, g) {
  return polygonsOf(g).some((rings) => rings.length && inRing(p, rings[0]) && !rings.slice(1).some((hole) => inRing(p, hole)));
}

/** The closest point to p on segment ab, all in screen pixels. */
export function closestOnSegment(p, a, b) {
  const dx = b[0] - a[0];
  const dy = b[1] - a[1];
  const len2 = dx * dx + dy * dy;
  let s = len2 === 0 ? 0 : ((p[0] - a[0]) * dx + (p[1] - a[1]) * dy) / len2;
  s = Math.max(0, Math.min(1, s));
  return { point: [a[0] + s * dx, a[1] + s * dy], s };
}

export function dist2(a, b) {
  return (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2;
}

/** Distinct positions of a closed ring (the closing point not counted). */
export function distinctPositions(ring) {
  const seen = new Set();
  for (const c of ring.slice(0, -1)) seen.add(`${c[0]},${c[1]}`);
  return seen.size;
}
