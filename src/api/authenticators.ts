import type { AuthenticatorFactory } from './access.js';
import { sessionAuthenticator } from './session-authenticator.js';
import { apiKeyAuthenticator } from '../providers/api-key-authenticator.js';
import { keyCacheFor } from '../providers/key-cache.js';

/**
 * Every way a request can prove who it is, tried in order; the first that
 * recognises a credential decides. A feature adds one line here (API keys,
 * session cookies).
 */
export const AUTHENTICATORS: readonly AuthenticatorFactory[] = [
  // An Authorization header is a credential the caller chose to send; a
  // cookie rides along on its own. The header decides when both are there.
  (deps) => apiKeyAuthenticator(keyCacheFor(deps.db)),
  sessionAuthenticator,
];
