// npm run setup -- <doctor|subscribe|status|unsubscribe|profile> [options] [--account ID]
// Connects the bot to real Pages and Instagram accounts. A thin main: parse the command line, load .env and the config,
// load the comment triggers, build the app's Graph client, read the Instagram tokens the bot refreshed (its store),
// run the tested command function, exit with its code.
import type { CommentTriggers } from '../services/comments/triggers.ts';
import { configFromEnvironment, secretsOf } from '../services/config.ts';
import { graphClientFor } from '../services/graph/client.ts';
import { createSecretSet } from '../services/redact.ts';
import { loadCatalog } from '../services/shop/catalog.ts';
import { USAGE, parseCommand, runCommand } from './setup/cli.ts';
import { EXIT } from './setup/context.ts';
import { createStreamOutput } from './setup/output.ts';
import { setupTokens } from './setup/stored-tokens.ts';

async function main(argv: readonly string[]): Promise<number> {
  const parsed = parseCommand(argv);
  if (!parsed.ok) {
    process.stderr.write(`${parsed.error}\n\n${USAGE}\n`);
    return EXIT.USAGE;
  }
  if (parsed.value.command === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return EXIT.OK;
  }
  const config = configFromEnvironment();
  if (!config) return EXIT.USAGE;
  const comments = commentTriggersOrReport();
  if (!comments) return EXIT.USAGE;
  // The app's client: every app call passes the app token. Each account's calls get their own client.
  const graph = graphClientFor(config);
  const secrets = createSecretSet([...secretsOf(config), `${config.APP_ID ?? ''}|${config.APP_SECRET}`]);
  const out = createStreamOutput(process.stdout, secrets);
  // doctor shows them among its checks; the other commands say them first.
  if (parsed.value.command !== 'doctor') for (const warning of config.warnings) process.stderr.write(`warning: ${warning}\n`);
  // The Instagram Login tokens the bot refreshed and stored: the ones it sends with, so the ones to check.
  const { tokens, notes } = await setupTokens({ config, secrets });
  for (const note of notes) process.stderr.write(`note: ${note}\n`);
  return runCommand(parsed.value, { config, graph, comments, out, tokens });
}

/** The comment triggers the bot answers from (data/, as `npm start` loads them), or undefined after saying what is wrong. */
function commentTriggersOrReport(): CommentTriggers | undefined {
  try {
    return loadCatalog().commentReplies;
  } catch (err) {
    // A DataFileError names the file and the field; npm start refuses the same data.
    process.stderr.write(`${err instanceof Error ? err.message : String(err)}\nFix the data file and run the command again: nothing was sent.\n`);
    return undefined;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A bug, not a Graph failure (those are reported by the commands): the message only, no stack with request config.
    process.stderr.write(`setup failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(EXIT.FAILED);
  },
);
