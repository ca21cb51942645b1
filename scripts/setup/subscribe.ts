// `subscribe`: the app subscription for each object the bot needs, then the Page install. Meta
// sends a verification GET to APP_URL/webhook during the first POST, so that is where a missing
// tunnel or a different VERIFY_TOKEN shows up (code 2200/2201, explained by the hint).
import { APP_URL_FIX, EXIT, publicHttpsProblem, requireLive, type ExitCode, type SetupDeps } from './context.ts';
import { MESSENGER_FIELDS, neededObjects } from './fields.ts';
import { attempt, errorContext, type ErrorContext, type TokenKind } from './graph-errors.ts';
import { mark } from './output.ts';
import { callbackUrl, postAppSubscription, postPageInstall } from './subscriptions.ts';

export async function subscribe(deps: SetupDeps): Promise<ExitCode> {
  const { config, graph, out } = deps;
  const target = requireLive(deps);
  if (target === undefined) return EXIT.USAGE;
  const problem = publicHttpsProblem(config.APP_URL, config.mode);
  if (problem !== undefined) {
    out.line(`${problem}. Fix: ${APP_URL_FIX}. Nothing was sent.`);
    return EXIT.USAGE;
  }
  const ctx = (token: TokenKind): ErrorContext => errorContext(config, token);
  out.line(`Subscribing app ${target.appId} to webhooks at ${callbackUrl(config.APP_URL)}`);
  for (const needed of neededObjects(config.IG_ACCOUNT_ID)) {
    const result = await attempt(out, ctx('app'), () => postAppSubscription(graph, target, needed, config.APP_URL, config.VERIFY_TOKEN));
    if (!result.ok) return EXIT.FAILED;
    out.line(`  ${mark(out, true)} app subscription  object=${needed.object.padEnd(9)}  ${needed.fields.length} fields: ${needed.fields.join(', ')}`);
  }
  const install = await attempt(out, ctx('page'), () => postPageInstall(graph, target, MESSENGER_FIELDS));
  if (!install.ok) return EXIT.FAILED;
  out.line(`  ${mark(out, true)} page install      page ${target.pageId}  ${MESSENGER_FIELDS.length} fields`);
  out.line(`Meta verified ${callbackUrl(config.APP_URL)} with your VERIFY_TOKEN.`);
  out.line('Next: npm run setup -- profile   (then npm run setup -- status to see the result)');
  return EXIT.OK;
}
