// `status [--account ID]`: what Meta has on record (the app subscriptions, and each account's
// install) next to what the bot needs. Exit 0 when everything needed is in place, 1 when
// something is missing or a call fails.
import { EXIT, requireLive, selectAccounts, type ExitCode, type SetupDeps } from './context.ts';
import { installFieldsOf, neededObjects, webhookFields } from './fields.ts';
import { attempt, errorContext } from './graph-errors.ts';
import { heading, list, mark, paint, table } from './output.ts';
import { checkAppSubscription, checkInstall, readAppSubscriptions, readInstall, type ObjectCheck } from './subscriptions.ts';

export async function status(deps: SetupDeps, options: { account?: string } = {}): Promise<ExitCode> {
  const { config, graph, out } = deps;
  const target = requireLive(deps);
  if (target === undefined) return EXIT.USAGE;
  const selected = selectAccounts(deps, options.account);
  if (!selected.ok) {
    out.line(`${selected.error}. Nothing was sent.`);
    return EXIT.USAGE;
  }
  const accounts = selected.value;
  const version = config.GRAPH_API_VERSION;
  const fields = webhookFields(deps.comments);

  heading(out, `App subscriptions (GET /${version}/${target.appId}/subscriptions)`);
  const subs = await attempt(out, errorContext(config, 'app'), () => readAppSubscriptions(graph, target));
  if (!subs.ok) return EXIT.FAILED;
  if (subs.value.length === 0) {
    out.line('  none');
  } else {
    table(out, [
      ['object', 'callback URL', 'active', 'fields'],
      ...subs.value.map((s) => [s.object, s.callback_url, s.active ? 'yes' : 'no', list(s.fields)]),
    ]);
  }

  const checks: ObjectCheck[] = neededObjects(accounts.map((a) => a.account), fields).map((needed) => checkAppSubscription(needed, subs.value, config.APP_URL));
  let failed = false;
  for (const a of accounts) {
    out.line();
    const where = a.api === 'graph' ? 'Page' : 'Instagram account';
    heading(out, `${a.title}: install (GET /${version}/${a.nodeId}/subscribed_apps${a.api === 'instagram' ? ' on INSTAGRAM_API_URL' : ''})`);
    const install = await attempt(out, errorContext(config, 'page', a.account), () => readInstall(target, a));
    if (!install.ok) {
      failed = true;
      continue;
    }
    out.line(install.value === undefined ? `  app ${target.appId} is not installed on ${where} ${a.nodeId}` : `  app ${target.appId}${install.value.name ? ` (${install.value.name})` : ''} on ${where} ${a.nodeId}: ${list(install.value.subscribed_fields)}`);
    const check = checkInstall(install.value, installFieldsOf(a.account, fields), a.api);
    checks.push(accounts.length === 1 ? check : { ...check, object: `${check.object} ${a.nodeId}` });
  }
  out.line();
  heading(out, 'Compared with what the bot needs');
  table(out, checks.map((c) => [mark(out, c.ok), c.object, summary(c)]));
  const unused = checks.filter((c) => c.diff.extra.length > 0);
  for (const c of unused) out.line(paint(out, 'dim', `  ${c.object}: also subscribed to ${c.diff.extra.join(', ')} (not used by the bot, harmless)`));
  if (!failed && checks.every((c) => c.ok)) return EXIT.OK;
  out.line();
  out.line(`Fix: npm run setup -- subscribe${options.account === undefined ? '' : ` --account ${options.account}`}`);
  return EXIT.FAILED;
}

function summary(check: ObjectCheck): string {
  return check.ok ? 'up to date' : check.problems.join('; ');
}
