// `subscribe [--account ID]`: the app subscription for each object the accounts need (page,
// instagram), then each account's install: a Page on GRAPH_API_URL with its Page token, an
// Instagram Login account on INSTAGRAM_API_URL with its own token. Meta sends a verification GET
// to APP_URL/webhook during the first POST, so that is where a missing tunnel or a different
// VERIFY_TOKEN shows up (code 2200/2201, explained by the hint): nothing else is tried then.
import { APP_URL_FIX, EXIT, publicHttpsProblem, requireLive, selectAccounts, type ExitCode, type SetupDeps } from './context.ts';
import { installFieldsOf, neededObjects, webhookFields } from './fields.ts';
import { attempt, errorContext } from './graph-errors.ts';
import { heading, mark } from './output.ts';
import { callbackUrl, postAppSubscription, postInstall } from './subscriptions.ts';

export interface SubscribeOptions {
  /** Only this account (any of its ids); every configured account when absent. */
  account?: string;
}

export async function subscribe(deps: SetupDeps, options: SubscribeOptions = {}): Promise<ExitCode> {
  const { config, graph, out } = deps;
  const target = requireLive(deps);
  if (target === undefined) return EXIT.USAGE;
  const problem = publicHttpsProblem(config.APP_URL, config.mode);
  if (problem !== undefined) {
    out.line(`${problem}. Fix: ${APP_URL_FIX}. Nothing was sent.`);
    return EXIT.USAGE;
  }
  const selected = selectAccounts(deps, options.account);
  if (!selected.ok) {
    out.line(`${selected.error}. Nothing was sent.`);
    return EXIT.USAGE;
  }
  const accounts = selected.value;
  const fields = webhookFields(deps.comments);
  out.line(`Subscribing app ${target.appId} to webhooks at ${callbackUrl(config.APP_URL)}`);
  for (const needed of neededObjects(accounts.map((a) => a.account), fields)) {
    const result = await attempt(out, errorContext(config, 'app'), () => postAppSubscription(graph, target, needed, config.APP_URL, config.VERIFY_TOKEN));
    if (!result.ok) return EXIT.FAILED;
    out.line(`  ${mark(out, true)} app subscription  object=${needed.object.padEnd(9)}  ${needed.fields.length} fields: ${needed.fields.join(', ')}`);
  }
  let failed = false;
  for (const a of accounts) {
    out.line();
    heading(out, a.title);
    const installFields = installFieldsOf(a.account, fields);
    const install = await attempt(out, errorContext(config, 'page', a.account), () => postInstall(a, installFields));
    if (!install.ok) {
      failed = true;
      continue;
    }
    const what = a.api === 'graph' ? `page install      page ${a.nodeId}` : `instagram install  instagram ${a.nodeId} (INSTAGRAM_API_URL)`;
    out.line(`  ${mark(out, true)} ${what}  ${installFields.length} fields`);
  }
  out.line();
  out.line(`Meta verified ${callbackUrl(config.APP_URL)} with your VERIFY_TOKEN.`);
  if (failed) {
    out.line('Some accounts were not installed: see the error under each, fix it and run `npm run setup -- subscribe` again.');
    return EXIT.FAILED;
  }
  out.line('Next: npm run setup -- profile   (then npm run setup -- status to see the result)');
  return EXIT.OK;
}
