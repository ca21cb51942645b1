// The folder that holds package.json and the shop's files (locales/, public/, data/). Found from
// this module's own place, so it is the same whether the bot runs from its TypeScript sources
// (`node app.ts`, the tests: services/) or compiled by `npm start` (scripts/start.js:
// dist/<build>/services/).
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

function findProject(from: URL): URL {
  for (let dir = from; ; dir = new URL('../', dir)) {
    if (existsSync(new URL('package.json', dir))) return dir;
    if (new URL('../', dir).href === dir.href) return from;
  }
}

const PROJECT_URL = findProject(new URL('../', import.meta.url));

/** The absolute path of `relative` (e.g. 'locales/', 'public/emulator/') in the project's folder. */
export function projectPath(relative: string): string {
  return fileURLToPath(new URL(relative, PROJECT_URL));
}
