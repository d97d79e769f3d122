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

// terra-draw and its MapLibre adapter (MIT) ship no licence file in their npm packages; their
// notice goes beside the bundle, made from their package.json (deterministic).
const notice = ['terra-draw', 'terra-draw-maplibre-gl-adapter'].map((name) => {
  const pkg = JSON.parse(readFileSync(join(here, 'node_modules', name, 'package.json'), 'utf8'));
  const repo = typeof pkg.repository === 'string' ? pkg.repository : (pkg.repository && pkg.repository.url) || '';
  return `${name} ${pkg.version} (${repo.replace(/^git\+/, '')}): ${pkg.license} licence, copyright (c) ${pkg.author && (pkg.author.name || pkg.author)}`;
}).join('\n');
writeFileSync(join(outdir, 'terra-draw-LICENSE.txt'), `${notice}

MIT License

Permission is hereby granted, free of charge, to any person obtaining a copy
of this software and associated documentation files (the "Software"), to deal
in the Software without restriction, including without limitation the rights
to use, copy, modify, merge, publish, distribute, sublicense, and/or sell
copies of the Software, and to permit persons to whom the Software is
furnished to do so, subject to the following conditions:

The above copyright notice and this permission notice shall be included in all
copies or substantial portions of the Software.

THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR
IMPLIED, INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY,
FITNESS FOR A PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE
AUTHORS OR COPYRIGHT HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER
LIABILITY, WHETHER IN AN ACTION OF CONTRACT, TORT OR OTHERWISE, ARISING FROM,
OUT OF OR IN CONNECTION WITH THE SOFTWARE OR THE USE OR OTHER DEALINGS IN THE
SOFTWARE.
`);
