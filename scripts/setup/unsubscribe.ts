// `unsubscribe [--object page|instagram] [--fields a,b] [--account ID]`: removes the app
// subscription for an object, or only some of its fields, and uninstalls the app from the
// accounts when a whole object goes (without it their installs receive nothing). With --account,
// only that account's install is removed: the app subscription still serves the other accounts.
import { EXIT, requireLive, selectAccounts, type ExitCode, type SetupDeps } from './context.ts';
import { neededObjects, webhookFields, type WebhookObjectName } from './fields.ts';
import { attempt, errorContext } from './graph-errors.ts';
import { mark } from './output.ts';
import { deleteAppSubscription, deleteInstall } from './subscriptions.ts';

export interface UnsubscribeOptions {
  /** Only this object; every object the bot uses when absent. */
  object?: WebhookObjectName;
  /** Only these fields of `object` (the CLI requires --object with --fields). */
  fields?: readonly string[];
  /** Only this account's install (any of its ids); the app subscription stays. */
  account?: string;
}

export async function unsubscribe(deps: SetupDeps, options: UnsubscribeOptions = {}): Promise<ExitCode> {
  const { config, graph, out } = deps;
  const target = requireLive(deps);
  if (target === undefined) return EXIT.USAGE;
  const selected = selectAccounts(deps, options.account);
  if (!selected.ok) {
    out.line(`${selected.error}. Nothing was sent.`);
    return EXIT.USAGE;
  }
  const objects = options.object !== undefined ? [options.object] : neededObjects(config.accounts, webhookFields(deps.comments)).map((n) => n.object);
  if (options.account === undefined) {
    for (const object of objects) {
      const result = await attempt(out, errorContext(config, 'app'), () => deleteAppSubscription(graph, target, object, options.fields));
      if (!result.ok) return EXIT.FAILED;
      const what = options.fields === undefined ? 'all fields' : `fields ${options.fields.join(', ')}`;
      out.line(`  ${mark(out, true)} app subscription  object=${object.padEnd(9)}  removed ${what}`);
    }
  }
  if (options.fields === undefined) {
    // A Page's install carries its Messenger fields, an Instagram Login account's its Instagram ones.
    const uninstall = selected.value.filter((a) => objects.includes(a.api === 'graph' ? 'page' : 'instagram'));
    for (const a of uninstall) {
      const result = await attempt(out, errorContext(config, 'page', a.account), () => deleteInstall(a));
      if (!result.ok) return EXIT.FAILED;
      out.line(a.api === 'graph' ? `  ${mark(out, true)} page install      page ${a.nodeId}  app removed from the Page` : `  ${mark(out, true)} instagram install  instagram ${a.nodeId}  app removed from the Instagram account`);
    }
  }
  out.line(`Undo with: npm run setup -- subscribe${options.account === undefined ? '' : ` --account ${options.account}`}`);
  return EXIT.OK;
}
