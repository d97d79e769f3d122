// The map style: a plain background and GeoJSON sources filled from our API. No remote
// sources, no glyphs, no sprite: names are shown in HTML (popups, side panel), not on the map.

export const EMPTY = { type: 'FeatureCollection', features: [] };

/** Collections in drawing order, bottom to top, with the style layers that belong to each. */
export const COLLECTIONS = [
  { id: 'street_offices', layers: ['street_offices-line'], minZoom: 0 },
  { id: 'communities', layers: ['communities-fill', 'communities-line'], minZoom: 0 },
  { id: 'grids', layers: ['grids-fill', 'grids-line'], minZoom: 0 },
  { id: 'buildings', layers: ['buildings-fill'], minZoom: 14 },
  { id: 'roads', layers: ['roads-line'], minZoom: 14 },
  { id: 'facilities', layers: ['facilities-shared-ring', 'facilities-circle'], minZoom: 0 },
];

const NONE = '__none__';

// Line width by OSM highway class, at zoom 14 and 18.
const roadWidth = (z14, z18) => [
  'interpolate', ['linear'], ['zoom'],
  14, ['match', ['get', 'highway'], ...z14],
  18, ['match', ['get', 'highway'], ...z18],
];

export function mapStyle() {
  const sources = {};
  for (const c of COLLECTIONS) sources[c.id] = { type: 'geojson', data: EMPTY };
  sources.nearest = { type: 'geojson', data: EMPTY };
  sources.pick = { type: 'geojson', data: EMPTY };

  return {
    version: 8,
    name: 'gridcircle',
    sources,
    layers: [
      { id: 'background', type: 'background', paint: { 'background-color': '#f3f1ec' } },

      // Street offices: thick outline only.
      {
        id: 'street_offices-line', type: 'line', source: 'street_offices',
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#6a3d9a', 'line-width': ['interpolate', ['linear'], ['zoom'], 10, 2.5, 16, 5], 'line-opacity': 0.85 },
      },

      // Communities: light fill and an outline.
      {
        id: 'communities-fill', type: 'fill', source: 'communities',
        paint: { 'fill-color': '#dfe9d3', 'fill-opacity': 0.45 },
      },
      {
        id: 'communities-line', type: 'line', source: 'communities',
        layout: { 'line-join': 'round' },
        paint: { 'line-color': '#5b7f3a', 'line-width': ['interpolate', ['linear'], ['zoom'], 12, 1.2, 17, 2.5] },
      },

      // Grids: fill coloured by a hash of the code (computed in JS as _color), dashed outline.
      {
        id: 'grids-fill', type: 'fill', source: 'grids',
        paint: { 'fill-color': ['to-color', ['get', '_color'], '#888888'], 'fill-opacity': 0.16 },
      },
      {
        id: 'grids-line', type: 'line', source: 'grids',
        paint: { 'line-color': ['to-color', ['get', '_color'], '#666666'], 'line-width': 1.4, 'line-dasharray': [3, 2] },
      },
      {
        id: 'grids-selected', type: 'line', source: 'grids', filter: ['==', ['get', 'id'], NONE],
        paint: { 'line-color': '#d7301f', 'line-width': 3 },
      },

      // Buildings: grey; residential ones a warmer tone.
      {
        id: 'buildings-fill', type: 'fill', source: 'buildings',
        paint: {
          'fill-color': ['case', ['==', ['get', 'residential'], true], '#e2b48a', '#c4c2be'],
          'fill-outline-color': ['case', ['==', ['get', 'residential'], true], '#b9875c', '#9c9a96'],
          'fill-opacity': 0.9,
        },
      },
      {
        id: 'buildings-selected', type: 'line', source: 'buildings', filter: ['==', ['get', 'id'], NONE],
        paint: { 'line-color': '#d7301f', 'line-width': 2.5 },
      },

      // Roads: width by highway class.
      {
        id: 'roads-line', type: 'line', source: 'roads',
        layout: { 'line-join': 'round', 'line-cap': 'round' },
        paint: {
          'line-color': ['match', ['get', 'highway'],
            ['motorway', 'trunk', 'primary'], '#e8a25c',
            ['secondary', 'tertiary'], '#f2d27a',
            ['footway', 'path', 'pedestrian', 'steps', 'cycleway', 'track'], '#a58c7a',
            '#ffffff'],
          'line-width': roadWidth(
            [['motorway', 'trunk'], 4, 'primary', 3.5, 'secondary', 3, 'tertiary', 2.5,
              ['residential', 'unclassified', 'living_street'], 2,
              ['footway', 'path', 'pedestrian', 'steps', 'cycleway', 'track'], 1, 1.5],
            [['motorway', 'trunk'], 14, 'primary', 12, 'secondary', 10, 'tertiary', 8,
              ['residential', 'unclassified', 'living_street'], 6,
              ['footway', 'path', 'pedestrian', 'steps', 'cycleway', 'track'], 2, 4],
          ),
        },
      },

      // Nearest-tool highlights under the facility circles.
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

      // Where the user clicked / the nearest query origin.
      {
        id: 'pick-point', type: 'circle', source: 'pick',
        paint: {
          'circle-radius': 6, 'circle-color': '#d7301f',
          'circle-stroke-color': '#ffffff', 'circle-stroke-width': 2,
        },
      },
    ],
  };
}

export function selectFilter(id) {
  return ['==', ['get', 'id'], id ?? NONE];
}
