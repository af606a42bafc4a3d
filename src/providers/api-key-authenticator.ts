import type { Authenticator } from '../api/access.js';
import { TakedownError } from '../errors.js';
import type { KeyCache } from './key-cache.js';
import { KEY_PREFIX, bearerToken } from './keys.js';

/**
 * `Authorization: Bearer <key>` -> the key's principal. A request without
 * that header is not ours (another authenticator, or anonymous); a Bearer
 * credential that is not a valid, unrevoked key is refused with 401
 * `invalid-api-key` and a sentence saying which.
 */
export function apiKeyAuthenticator(cache: KeyCache): Authenticator {
  return {
    name: 'api-key',
    async authenticate(c) {
      const token = bearerToken(c.req.header('authorization'));
      if (token === undefined) return undefined;
      const found = await cache.resolve(token);
      if (found.kind === 'valid') {
        return {
          kind: 'api-key',
          keyId: found.key.id,
          role: found.key.role,
          providerId: found.key.providerId,
        };
      }
      c.header('WWW-Authenticate', 'Bearer error="invalid_token"');
      if (found.kind === 'revoked') {
        throw new TakedownError(
          'invalid-api-key',
          `This API key was revoked on ${found.revokedAt.toISOString().slice(0, 10)}; ask the hotline for a new one.`,
          { kind: 'unauthorized' },
        );
      }
      throw new TakedownError(
        'invalid-api-key',
        `The API key in the Authorization header is not valid: it is unknown or mistyped (keys start with "${KEY_PREFIX}" and have 44 characters).`,
        { kind: 'unauthorized' },
      );
    },
  };
}
