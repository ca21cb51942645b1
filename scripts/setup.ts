// npm run setup -- <doctor|subscribe|status|unsubscribe|profile> [options]
// Connects the bot to a real Page. A thin main: parse the command line, load .env and the config,
// build the one Graph client, run the tested command function, exit with its code.
import { configFromEnvironment, secretsOf } from '../services/config.ts';
import { graphClientFor } from '../services/graph/client.ts';
import { USAGE, parseCommand, runCommand } from './setup/cli.ts';
import { EXIT } from './setup/context.ts';
import { createStreamOutput } from './setup/output.ts';

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
  const graph = graphClientFor(config);
  const out = createStreamOutput(process.stdout, [...secretsOf(config), `${config.APP_ID ?? ''}|${config.APP_SECRET}`]);
  return runCommand(parsed.value, { config, graph, out });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (err: unknown) => {
    // A bug, not a Graph failure (those are reported by the commands): the message only, no stack with request config.
    process.stderr.write(`setup failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(EXIT.FAILED);
  },
);
