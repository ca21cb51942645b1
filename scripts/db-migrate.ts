// npm run db:migrate: a thin main. Load .env and the config, apply the migrations the configured
// database lacks (scripts/db-migrate/command.ts), exit 0 (done), 1 (failed) or 2 (configuration).
import { configFromEnvironment, secretsOf } from '../services/config.ts';
import { runMigrations } from './db-migrate/command.ts';
import { EXIT } from './setup/context.ts';
import { createStreamOutput } from './setup/output.ts';

async function main(): Promise<number> {
  const config = configFromEnvironment();
  if (!config) return EXIT.USAGE;
  return runMigrations(config, createStreamOutput(process.stdout, secretsOf(config)));
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`db:migrate failed: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(EXIT.FAILED);
  },
);
