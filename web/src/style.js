// The map style: a plain background, our own vector tiles for the dense base layers (water and
// parks, buildings, roads, facility circles: GET /tiles/{layer}/{z}/{x}/{y}.mvt) and GeoJSON sources for the
// small, editable or query-driven layers. No remote sources, no glyphs, no sprite: names are
// shown in HTML (popups, side panel), not on the map.
import { apiUrl } from './api.js';

export const EMPTY = { type: 'FeatureCollection', features: [] };

/** The zoom at which the server's tiles have full detail; MapLibre over-zooms beyond. */
export const TILE_MAX_ZOOM = 16;

/**
 * Layers the user can switch, bottom to top, with the style layers that belong to each.
 * `tiles: true` layers come from /tiles (nothing to fetch); the others are GeoJSON from
 * /collections/{id}/items for the view.
 */
export const COLLECTIONS = [
  { id: 'land', layers: ['land-fill'], minZoom: 10, tiles: true },
  { id: 'street_offices', layers: ['street_offices-line'], minZoom: 0 },
  { id: 'communities', layers: ['communities-fill', 'communities-line'], minZoom: 0 },
  { id: 'grids', layers: ['grids-fill', 'grids-line'], minZoom: 0 },
  { id: 'buildings', layers: ['buildings-fill'], minZoom: 13, tiles: true },
  { id: 'roads', layers: ['roads-line'], minZoom: 11, tiles: true },
  { id: 'facilities', layers: ['facilities-shared-ring', 'facilities-circle'], minZoom: 0 },
];

const NONE = '__none__';

export function tileUrl(layer, version) {
  return apiUrl(`tiles/${layer}/{z}/{x}/{y}.mvt`) + (version ? `?v=${encodeURIComponent(version)}` : '');
}

// Line width by OSM highway class, at zoom 14 and 18.
const roadWidth = (z14, z18) => [
  'interpolate', ['linear'], ['zoom'],
  12, ['match', ['get', 'highway'], ...z14.map((x) => (typeof x === 'number' ? x / 2 : x))],
  14, ['match', ['get', 'highway'], ...z14],
  18, ['match', ['get', 'highway'], ...z18],
];

const FOOT = ['footway', 'path', 'pedestrian', 'steps', 'cycleway', 'track'];

export function mapStyle() {
  const geojson = () => ({ type: 'geojson', data: EMPTY });
  const sources = {
    street_offices: geojson(),
    communities: geojson(),
    grids: geojson(),
    facilities: geojson(),
    land: { type: 'vector', tiles: [tileUrl('land')], minzoom: 10, maxzoom: TILE_MAX_ZOOM },
    buildings: { type: 'vector', tiles: [tileUrl('buildings')], minzoom: 13, maxzoom: TILE_MAX_ZOOM },
    roads: { type: 'vector', tiles: [tileUrl('roads')], minzoom: 11, maxzoom: TILE_MAX_ZOOM },
    facility_circles: { type: 'vector', tiles: [tileUrl('facility_circles')], minzoom: 0, maxzoom: TILE_MAX_ZOOM },
    // Query results and drawing aids.
    circle_shapes: geojson(),
    uncovered: geojson(),
    compare: geojson(),
    routes: geojson(),
    nearest: geojson(),
    pick: geojson(),
    problems: geojson(),
    draft: geojson(),
    history: geojson(),
  };

  return {
    version: 8,
    name: 'gridcircle',
    sources,
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#f3f1ec' } },

      // Water and green areas from the imported OSM (vector tiles): the base map's ground.
      {
        id: 'land-fill', type: 'fill', source: 'land', 'source-layer': 'land',
        paint: { 'fill-color': ['match', ['get', 'class'], 'water', '#a9cfe8', '#cfe5b8'], 'fill-opacity': 0.9 },
      },

      // Communities: light fill (outline drawn higher up).
      {
        id: 'communities-fill', type: 'fill', source: 'communities',
        paint: { 'fill-color': '#dfe9d3', 'fill-opacity': 0.45 },
      },

      // Planner: walking (or radius) circles of the facilities that count, shaded.
      {
        id: 'circles-fill', type: 'fill', source: 'facility_circles', 'source-layer': 'facility_circles',
        filter: ['==', ['get', 'circle'], NONE], layout: { visibility: 'none' },
        paint: { 'fill-color': '#2e9e6a', 'fill-opacity': 0.14 },
      },
      {
        id: 'circles-line', type: 'line', source: 'facility_circles', 'source-layer': 'facility_circles',
        filter: ['==', ['get', 'circle'], NONE], layout: { visibility: 'none' },
        paint: { 'line-color': '#2e9e6a', 'line-width': 1, 'line-opacity': 0.6 },
      },
      {
        id: 'circle_shapes-fill', type: 'fill', source: 'circle_shapes',
        paint: { 'fill-color': '#2e9e6a', 'fill-opacity': 0.14 },
      },
      {
        id: 'circle_shapes-line', type: 'line', source: 'circle_shapes',
        paint: { 'line-color': '#2e9e6a', 'line-width': 1, 'line-opacity': 0.6 },
      },

      // Buildings (vector tiles): grey; residential ones a warmer tone.
      {
        id: 'buildings-fill', type: 'fill', source: 'buildings', 'source-layer': 'buildings',
        paint: {
          'fill-color': ['case', ['==', ['get', 'residential'], true], '#e2b48a', '#c4c2be'],
          'fill-outline-color': ['case', ['==', ['get', 'residential'], true], '#b9875c', '#9c9a96'],
          'fill-opacity': 0.9,
        },
      },

      // Roads (vector tiles): width by highway class.
      {
        id: 'roads-line', type: 'line', source: 'roads', 'source-layer': 'roads',
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: {
          'line-color': ['match', ['get', 'highway'],
            ['motorway', 'trunk', 'primary'], '#e8a25c',
            ['secondary', 'tertiary'], '#f2d27a',
            FOOT, '#a58c7a',
            '#ffffff'],
          'line-width': roadWidth(
            [['motorway', 'trunk'], 4, 'primary', 3.5, 'secondary', 3, 'tertiary', 2.5,
              ['residential', 'unclassified', 'living_street'], 2, FOOT, 1, 1.5],
            [['motorway', 'trunk'], 14, 'primary', 12, 'secondary', 10, 'tertiary', 8,
              ['residential', 'unclassified', 'living_street'], 6, FOOT, 2, 4],
          ),
        },
      },

      // Planner: where radius and walking disagree (purple), uncovered buildings (red).
      {
        id: 'compare-fill', type: 'fill', source: 'compare',
        paint: { 'fill-color': '#7b3fbf', 'fill-opacity': 0.75 },
      },
      {
        id: 'compare-line', type: 'line', source: 'compare',
        paint: { 'line-color': '#4b1f82', 'line-width': 1.5 },
      },
      {
        id: 'uncovered-fill', type: 'fill', source: 'uncovered',
        paint: { 'fill-color': '#d7301f', 'fill-opacity': 0.8 },
      },
      {
        id: 'uncovered-line', type: 'line', source: 'uncovered',
        paint: { 'line-color': '#8c1d12', 'line-width': 1 },
      },

      // Grids: fill coloured by a hash of the code (computed in JS as _color), dashed outline.
      {
        id: 'grids-fill', type: 'fill', source: 'grids',
        paint: { 'fill-color': ['to-color', ['get', '_color'], '#888888'], 'fill-opacity': 0.12 },
      },
      {
        id: 'grids-line', type: 'line', source: 'grids',
        paint: { 'line-color': ['to-color', ['get', '_color'], '#666666'], 'line-width': 1.4, 'line-dasharray': [3, 2] },
      },

      // Street office: a draft partition (dashed blue), an old boundary from the history (grey).
      {
        id: 'draft-fill', type: 'fill', source: 'draft',
        paint: { 'fill-color': ['to-color', ['get', '_color'], '#3461a8'], 'fill-opacity': 0.22 },
      },
      {
        id: 'draft-line', type: 'line', source: 'draft',
        paint: { 'line-color': '#1d3f7a', 'line-width': 2, 'line-dasharray': [2, 1.5] },
      },
      {
        id: 'history-line', type: 'line', source: 'history',
        paint: { 'line-color': '#555555', 'line-width': 3, 'line-dasharray': [1, 1.5] },
      },

      // Communities and street offices: outlines above the grids.
      {
        id: 'communities-line', type: 'line', source: 'communities',
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#5b7f3a', 'line-width': ['interpolate', ['linear'], ['zoom'], 12, 1.2, 17, 2.5] },
      },
      {
        id: 'street_offices-line', type: 'line', source: 'street_offices',
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#6a3d9a', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 2.5, 16, 5], 'line-opacity': 0.85 },
      },

      // Selection outlines.
      {
        id: 'grids-selected', type: 'line', source: 'grids', filter: ['==', ['get', 'id'], NONE],
        paint: { 'line-color': '#d7301f', 'line-width': 3 },
      },
      {
        id: 'buildings-selected', type: 'line', source: 'buildings', 'source-layer': 'buildings',
        filter: ['==', ['get', 'id'], NONE],
        paint: { 'line-color': '#d7301f', 'line-width': 2.5 },
      },

      // Street office: validation problems. Errors red, warnings (cut buildings) orange.
      {
        id: 'problems-fill', type: 'fill', source: 'problems',
        filter: ['==', ['geometry-type'], 'Polygon'],
        paint: {
          'fill-color': ['case', ['==', ['get', 'severity'], 'error'], '#e31a1c', '#ff8c1a'],
          'fill-opacity': ['case', ['==', ['get', 'severity'], 'error'], 0.55, 0.6],
        },
      },
      {
        id: 'problems-line', type: 'line', source: 'problems',
        paint: {
          'line-color': ['case', ['==', ['get', 'severity'], 'error'], '#b30000', '#d95f00'],
          'line-width': 2.5,
        },
      },
      {
        id: 'problems-point', type: 'circle', source: 'problems',
        filter: ['==', ['geometry-type'], 'Point'],
        paint: { 'circle-radius': 6, 'circle-color': '#e31a1c', 'circle-stroke-color': '#fff', 'circle-stroke-width': 2 },
      },

      // Resident: walking routes (the chosen one on top, thicker).
      {
        id: 'routes-casing', type: 'line', source: 'routes',
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: { 'line-color': '#ffffff', 'line-width': ['case', ['==', ['get', 'selected'], true], 9, 5] },
      },
      {
        id: 'route-line', type: 'line', source: 'routes',
        layout: { 'line-join': 'round', 'line-cap': 'round', 'line-sort-key': ['case', ['==', ['get', 'selected'], true], 1, 0] },
        paint: {
          'line-color': ['case', ['==', ['get', 'selected'], true], '#1f6feb', '#7aa7e8'],
          'line-width': ['case', ['==', ['get', 'selected'], true], 5, 2.5],
        },
      },

      // Nearest results under the facility circles.
      {
        id: 'nearest-halo', type: 'circle', source: 'nearest', filter: ['==', ['get', 'role'], 'result'],
        paint: {
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 9, 18, 16],
          'circle-color': '#ffd400', 'circle-opacity': 0.55,
          'circle-stroke-color': '#d97a00', 'circle-stroke-width': 2,
        },
      },

      // Facilities: circles coloured by kind (_color), shared ones with an outer ring.
      {
        id: 'facilities-shared-ring', type: 'circle', source: 'facilities', filter: ['==', ['get', 'shared'], true],
        paint: {
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 6.5, 18, 11],
          'circle-opacity': 0,
          'circle-stroke-color': ['to-color', ['get', '_color'], '#333333'],
          'circle-stroke-width': 2,
        },
      },
      {
        id: 'facilities-circle', type: 'circle', source: 'facilities',
        paint: {
          'circle-radius': ['interpolate', ['linear'], ['zoom'], 12, 3.5, 18, 7],
          'circle-color': ['to-color', ['get', '_color'], '#333333'],
          'circle-stroke-color': '#ffffff',
          'circle-stroke-width': 1.2,
        },
      },

      // Where the user tapped / the query origin.
      {
        id: 'pick-point', type: 'circle', source: 'pick',
        paint: {
          'circle-radius': 7, 'circle-color': '#d7301f',
          'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2.5,
        },
      },
    ],
  };
}

export function selectFilter(id) {
  return ['==', ['get', 'id'], id ?? NONE];
}
