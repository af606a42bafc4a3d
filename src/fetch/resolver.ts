import { promises as dns } from 'node:dns';

/**
 * Turns a host name into addresses. The fetcher takes one of these so that
 * tests can make a public-looking name resolve to 127.0.0.1 (and so that a
 * deployment can use its own DNS servers).
 */
export type Resolver = (hostname: string, signal: AbortSignal) => Promise<ResolvedAddress[]>;

export interface ResolvedAddress {
  readonly address: string;
  readonly family: 4 | 6;
}

/** A name that does not resolve, with the DNS error code (ENOTFOUND, ESERVFAIL, ETIMEOUT…). */
export class ResolveError extends Error {
  constructor(
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ResolveError';
  }
}

/**
 * Asks the system's DNS servers (/etc/resolv.conf) directly, for A and AAAA
 * at once, through c-ares: unlike dns.lookup it does not queue in libuv's
 * small thread pool behind file and zlib work, and it can be cancelled.
 * /etc/hosts is not consulted, which suits names that strangers chose.
 */
export function systemResolver(options: { timeoutMs?: number; servers?: string[] } = {}): Resolver {
  return async (hostname, signal) => {
    const resolver = new dns.Resolver({ timeout: options.timeoutMs ?? 5_000, tries: 2 });
    if (options.servers !== undefined) resolver.setServers(options.servers);
    const cancel = () => resolver.cancel();
    signal.addEventListener('abort', cancel, { once: true });
    try {
      const [v4, v6] = await Promise.allSettled([
        resolver.resolve4(hostname),
        resolver.resolve6(hostname),
      ]);
      const addresses: ResolvedAddress[] = [
        ...(v4.status === 'fulfilled'
          ? v4.value.map((address) => ({ address, family: 4 as const }))
          : []),
        ...(v6.status === 'fulfilled'
          ? v6.value.map((address) => ({ address, family: 6 as const }))
          : []),
      ];
      if (addresses.length > 0) return addresses;
      const reason = (v4.status === 'rejected' ? v4.reason : undefined) as
        NodeJS.ErrnoException | undefined;
      const code = reason?.code ?? 'ENODATA';
      throw new ResolveError(
        code,
        code === 'ENOTFOUND' || code === 'ENODATA'
          ? `${hostname} does not resolve to any address`
          : `looking up ${hostname} failed (${code})`,
      );
    } finally {
      signal.removeEventListener('abort', cancel);
    }
  };
}

/** For tests: fixed answers by name; any other name does not exist. */
export function staticResolver(table: Readonly<Record<string, readonly string[]>>): Resolver {
  return async (hostname) => {
    const addresses = table[hostname.toLowerCase()];
    if (addresses === undefined || addresses.length === 0)
      throw new ResolveError('ENOTFOUND', `${hostname} does not resolve to any address`);
    return addresses.map((address) => ({ address, family: address.includes(':') ? 6 : 4 }));
  };
}
