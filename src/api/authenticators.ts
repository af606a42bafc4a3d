import type { AuthenticatorFactory } from './access.js';

/**
 * Every way a request can prove who it is, tried in order; the first that
 * recognises a credential decides. A feature adds one line here (API keys,
 * session cookies).
 */
export const AUTHENTICATORS: readonly AuthenticatorFactory[] = [];
