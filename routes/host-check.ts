// In emulator mode the app is for this machine only. A web page can point its own domain at
// 127.0.0.1 (DNS rebinding) and then talk to the emulator as if it were same-origin, but its
// requests still carry its own name in Host. So every request whose Host is not a loopback name
// or APP_URL's host is refused with 421 before any route (the webhook included) sees it.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Logger } from '../services/logger.ts';

/** True when the request may go on; otherwise it has been answered. */
export type HostCheck = (req: IncomingMessage, res: ServerResponse) => boolean;

const REFUSAL = 'Misdirected request: the emulator answers only for localhost or APP_URL';
const LOGGED_HOSTS_LIMIT = 100;

export function emulatorHostCheck({ appUrl, log }: { appUrl: string; log: Logger }): HostCheck {
  const appHost = normalise(new URL(appUrl).hostname);
  // Each refused host is logged once: a page retrying in a loop must not flood the log.
  const logged = new Set<string>();
  return (req, res) => {
    const hostname = hostnameOf(req.headers.host);
    if (hostname !== undefined && (isLoopbackName(hostname) || hostname === appHost)) return true;
    const shown = (req.headers.host ?? '(none)').slice(0, 100);
    if (!logged.has(shown) && logged.size < LOGGED_HOSTS_LIMIT) {
      logged.add(shown);
      log.warn('request refused: its Host is not this machine or APP_URL', { host: shown });
    }
    res.writeHead(421, {
      'Content-Type': 'text/plain; charset=utf-8',
      'Content-Length': Buffer.byteLength(REFUSAL),
      'X-Content-Type-Options': 'nosniff',
      Connection: 'close',
    });
    res.end(REFUSAL);
    return false;
  };
}

/** The host name of a Host header (lower case, no port, no trailing dot); undefined if malformed. */
export function hostnameOf(header: string | undefined): string | undefined {
  // Only what a host and port are made of: no userinfo, path or spaces for the URL parser to reinterpret.
  if (header === undefined || !/^[A-Za-z0-9.\-[\]:]+$/.test(header)) return undefined;
  try {
    return normalise(new URL(`http://${header}`).hostname);
  } catch {
    return undefined;
  }
}

/** localhost and its subdomains (RFC 6761), 127.0.0.0/8 and [::1]. */
export function isLoopbackName(hostname: string): boolean {
  return hostname === 'localhost' || hostname.endsWith('.localhost') || hostname === '[::1]' || /^127(\.\d{1,3}){3}$/.test(hostname);
}

function normalise(hostname: string): string {
  return hostname.toLowerCase().replace(/\.$/, '');
}
