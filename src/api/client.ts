import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import { isIP } from 'node:net';
import type { AuditRequest } from '../audit/record.js';
import type { AppEnv } from './types.js';

/**
 * Who is on the other end of a request, for sign-in throttling and the audit
 * trail. X-Forwarded-For is believed only as far as the operator says
 * proxies append to it (TAKEDOWN_TRUSTED_PROXY_HOPS): anything further left
 * is whatever the client chose to send.
 */

/** The client address given the socket's address and the X-Forwarded-For header (pure). */
export function pickClientAddress(
  socketAddress: string | undefined,
  forwardedFor: string | undefined,
  trustedHops: number,
): string | undefined {
  if (trustedHops > 0 && forwardedFor !== undefined) {
    const hops = forwardedFor
      .split(',')
      .map((part) => part.trim())
      .filter((part) => part !== '');
    // Each trusted proxy appended the address it saw; the client is the
    // entry the outermost trusted proxy wrote.
    const index = Math.max(0, hops.length - trustedHops);
    const picked = hops[index];
    // A proxy writes addresses; anything else came from the client (or a
    // misconfigured hop count) and is not believed.
    if (picked !== undefined && isIP(picked) !== 0) return normalizeAddress(picked);
  }
  return socketAddress === undefined ? undefined : normalizeAddress(socketAddress);
}

/** "::ffff:10.0.0.1" is 10.0.0.1; keep one spelling so throttling counts it once. */
export function normalizeAddress(address: string): string {
  const lower = address.toLowerCase();
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/.exec(lower);
  return (mapped?.[1] ?? lower).slice(0, 64);
}

function socketAddress(c: Context<AppEnv>): string | undefined {
  try {
    return getConnInfo(c).remote.address;
  } catch {
    return undefined; // no socket: app.request() in tests, or another adapter
  }
}

export function clientAddress(c: Context<AppEnv>, trustedHops: number): string | undefined {
  return pickClientAddress(socketAddress(c), c.req.header('x-forwarded-for'), trustedHops);
}

/** Where the request came from, as the audit trail records it. */
export function auditRequest(c: Context<AppEnv>, trustedHops: number): AuditRequest {
  return {
    ip: clientAddress(c, trustedHops) ?? null,
    userAgent: c.req.header('user-agent') ?? null,
    requestId: c.get('requestId') ?? null,
  };
}
