// `unsubscribe [--object page|instagram] [--fields a,b]`: removes the app subscription for an
// object, or only some of its fields, and uninstalls the app from the Page when the whole page
// object goes (without it the install receives nothing).
import { EXIT, requireLive, type ExitCode, type SetupDeps } from './context.ts';
import { neededObjects, type WebhookObjectName } from './fields.ts';
import { attempt, errorContext, type ErrorContext, type TokenKind } from './graph-errors.ts';
import { mark } from './output.ts';
import { deleteAppSubscription, deletePageInstall } from './subscriptions.ts';

export interface UnsubscribeOptions {
  /** Only this object; every object the bot uses when absent. */
  object?: WebhookObjectName;
  /** Only these fields of `object` (the CLI requires --object with --fields). */
  fields?: readonly string[];
}

export async function unsubscribe(deps: SetupDeps, options: UnsubscribeOptions = {}): Promise<ExitCode> {
  const { config, graph, out } = deps;
  const target = requireLive(deps);
  if (target === undefined) return EXIT.USAGE;
  const ctx = (token: TokenKind): ErrorContext => errorContext(config, token);
  const objects = options.object !== undefined ? [options.object] : neededObjects(config.IG_ACCOUNT_ID).map((n) => n.object);
  for (const object of objects) {
    const result = await attempt(out, ctx('app'), () => deleteAppSubscription(graph, target, object, options.fields));
    if (!result.ok) return EXIT.FAILED;
    const what = options.fields === undefined ? 'all fields' : `fields ${options.fields.join(', ')}`;
    out.line(`  ${mark(out, true)} app subscription  object=${object.padEnd(9)}  removed ${what}`);
  }
  if (objects.includes('page') && options.fields === undefined) {
    const result = await attempt(out, ctx('page'), () => deletePageInstall(graph, target));
    if (!result.ok) return EXIT.FAILED;
    out.line(`  ${mark(out, true)} page install      page ${target.pageId}  app removed from the Page`);
  }
  out.line('Undo with: npm run setup -- subscribe');
  return EXIT.OK;
}
