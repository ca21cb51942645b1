// `status`: what Meta has on record (the app subscriptions and the Page install) next to what the
// bot needs. Exit 0 when everything needed is in place, 1 when something is missing or a call fails.
import { EXIT, requireLive, type ExitCode, type SetupDeps } from './context.ts';
import { MESSENGER_FIELDS, neededObjects } from './fields.ts';
import { attempt, errorContext, type ErrorContext, type TokenKind } from './graph-errors.ts';
import { heading, list, mark, paint, table } from './output.ts';
import { checkAppSubscription, checkPageInstall, readAppSubscriptions, readPageInstall, type ObjectCheck } from './subscriptions.ts';

export async function status(deps: SetupDeps): Promise<ExitCode> {
  const { config, graph, out } = deps;
  const target = requireLive(deps);
  if (target === undefined) return EXIT.USAGE;
  const ctx = (token: TokenKind): ErrorContext => errorContext(config, token);
  const version = config.GRAPH_API_VERSION;

  heading(out, `App subscriptions (GET /${version}/${target.appId}/subscriptions)`);
  const subs = await attempt(out, ctx('app'), () => readAppSubscriptions(graph, target));
  if (!subs.ok) return EXIT.FAILED;
  if (subs.value.length === 0) {
    out.line('  none');
  } else {
    table(out, [
      ['object', 'callback URL', 'active', 'fields'],
      ...subs.value.map((s) => [s.object, s.callback_url, s.active ? 'yes' : 'no', list(s.fields)]),
    ]);
  }

  out.line();
  heading(out, `Page install (GET /${version}/${target.pageId}/subscribed_apps)`);
  const install = await attempt(out, ctx('page'), () => readPageInstall(graph, target));
  if (!install.ok) return EXIT.FAILED;
  out.line(install.value === undefined ? `  app ${target.appId} is not installed on Page ${target.pageId}` : `  app ${target.appId}${install.value.name ? ` (${install.value.name})` : ''} on Page ${target.pageId}: ${list(install.value.subscribed_fields)}`);

  const checks = [
    ...neededObjects(config.IG_ACCOUNT_ID).map((needed) => checkAppSubscription(needed, subs.value, config.APP_URL)),
    checkPageInstall(install.value, MESSENGER_FIELDS),
  ];
  out.line();
  heading(out, 'Compared with what the bot needs');
  table(out, checks.map((c) => [mark(out, c.ok), c.object, summary(c)]));
  const unused = checks.filter((c) => c.diff.extra.length > 0);
  for (const c of unused) out.line(paint(out, 'dim', `  ${c.object}: also subscribed to ${c.diff.extra.join(', ')} (not used by the bot, harmless)`));
  if (checks.every((c) => c.ok)) return EXIT.OK;
  out.line();
  out.line('Fix: npm run setup -- subscribe');
  return EXIT.FAILED;
}

function summary(check: ObjectCheck): string {
  return check.ok ? 'up to date' : check.problems.join('; ');
}
