// npm start: runs the bot as plain JavaScript, compiled by tsc from its TypeScript sources, in this
// one process. Running the sources through tsx instead costs about 35 MB more at rest (tsx's
// loader runs in its own thread, and the bot worker needs it too); see docs/benchmark.md, "Reply
// latency". `node app.ts` on Node >= 22.18 runs the sources directly and needs no build.
//
// Each build lives in dist/<fingerprint>/, named by a hash of everything it is made from (the
// sources, the tsconfig files, the compiler's version), so an unchanged tree starts at once, an
// edit is always picked up, and several instances started together from one checkout
// (README, "Running several instances") never see a half-written build: a build is written under
// a temporary name and renamed into place whole.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, renameSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, relative } from 'node:path';
import process from 'node:process';
import { fileURLToPath, pathToFileURL, URL } from 'node:url';

const ROOT = fileURLToPath(new URL('../', import.meta.url));
const DIST = join(ROOT, 'dist');
/** What a build is made from: the bot's code (app.ts imports scripts/setup too) and how it is compiled. */
const SOURCES = ['app.ts', 'services', 'routes', 'scripts', 'tsconfig.json', 'tsconfig.build.json'];
/** Builds kept besides the current one: an instance still running an older build may restart its worker from it. */
const KEEP_OLDER = 2;
/** A temporary build this old was abandoned (a build takes seconds). */
const ABANDONED_AFTER_MS = 10 * 60 * 1000;

const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');

function sourceFiles(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path, { recursive: true })
    .map((name) => join(path, String(name)))
    .filter((file) => file.endsWith('.ts') && statSync(file).isFile());
}

function fingerprint() {
  const hash = createHash('sha256');
  hash.update(`typescript ${JSON.parse(readFileSync(join(tsc, '../../package.json'), 'utf8')).version}\n`);
  const files = SOURCES.map((name) => join(ROOT, name)).filter((path) => existsSync(path)).flatMap(sourceFiles).sort();
  for (const file of files) hash.update(`${relative(ROOT, file)}\n`).update(readFileSync(file)).update('\n');
  return hash.digest('hex').slice(0, 16);
}

function build(target) {
  const started = Date.now();
  const temporary = `${target}.building-${process.pid}`;
  const why = existsSync(DIST) && readdirSync(DIST).length > 0 ? 'a source changed since the last build' : 'the first start';
  process.stderr.write(`npm start: compiling the bot into dist/ (${why})…\n`);
  try {
    execFileSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', temporary], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  } catch (err) {
    rmSync(temporary, { recursive: true, force: true });
    const output = `${err.stdout ?? ''}${err.stderr ?? ''}`.trim() || String(err.message);
    process.stderr.write(`npm start: the bot does not compile, fix this and start again:\n${output}\n`);
    process.exit(1);
  }
  try {
    renameSync(temporary, target);
  } catch (err) {
    // Another instance started at the same moment put the same build in place first.
    rmSync(temporary, { recursive: true, force: true });
    if (!existsSync(join(target, 'app.js'))) throw err;
  }
  process.stderr.write(`npm start: compiled in ${((Date.now() - started) / 1000).toFixed(1)} s\n`);
}

function removeOlderBuilds(current) {
  const entries = readdirSync(DIST, { withFileTypes: true })
    .filter((entry) => entry.isDirectory() && entry.name !== current)
    .map((entry) => ({ name: entry.name, path: join(DIST, entry.name), at: statSync(join(DIST, entry.name)).mtimeMs }));
  // A build that was stopped half-way (the process killed while tsc ran) is left under its temporary name.
  const abandoned = entries.filter((e) => e.name.includes('.building-') && Date.now() - e.at > ABANDONED_AFTER_MS);
  const older = entries.filter((e) => !e.name.includes('.building-')).sort((a, b) => b.at - a.at).slice(KEEP_OLDER);
  for (const old of [...abandoned, ...older]) rmSync(old.path, { recursive: true, force: true });
}

const name = fingerprint();
const target = join(DIST, name);
if (!existsSync(join(target, 'app.js'))) {
  build(target);
  removeOlderBuilds(name);
}
const { run } = await import(pathToFileURL(join(target, 'app.js')).href);
run();
