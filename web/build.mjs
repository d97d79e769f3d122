// Builds web/dist/ from web/src/ with esbuild. Deterministic: no timestamps, no absolute
// paths, no source maps, so `build-check.sh` can compare the output with the committed dist/.
import { build } from 'esbuild';
import { mkdirSync, readFileSync, writeFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const arg = process.argv.indexOf('--outdir');
const outdir = arg > 0 ? process.argv[arg + 1] : join(here, 'dist');

rmSync(outdir, { recursive: true, force: true });
mkdirSync(outdir, { recursive: true });

// app.js (our code + maplibre-gl) and app.css (maplibre-gl.css + src/app.css).
await build({
  absWorkingDir: here,
  entryPoints: ['src/main.js'],
  outfile: join(outdir, 'app.js'),
  bundle: true,
  minify: true,
  format: 'esm',
  target: ['es2022'],
  charset: 'utf8',
  legalComments: 'eof',
  sourcemap: false,
  logLevel: 'warning',
});

// MapLibre GL 6 runs its tile worker from a separate ES module, which it looks up next to
// the main script. It is already minified and self-contained; copy it without the
// source-map comment (we do not ship the map) and with a .js name so that any static file
// server sends a JavaScript MIME type. main.js points setWorkerUrl() at it.
const ml = join(here, 'node_modules', 'maplibre-gl');
const worker = readFileSync(join(ml, 'dist', 'maplibre-gl-worker.mjs'), 'utf8')
  .replace(/\n?\/\/# sourceMappingURL=\S+\s*$/, '\n');
writeFileSync(join(outdir, 'maplibre-gl-worker.js'), worker);
writeFileSync(join(outdir, 'maplibre-gl-LICENSE.txt'), readFileSync(join(ml, 'LICENSE.txt')));
