import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ROLE_PERMISSIONS } from '../access/permissions.js';
import { findUser } from '../users/accounts.js';
import { changeOwnPassword } from '../users/own-password.js';
import { argon2Hasher } from '../users/passwords.js';
import { sessionPolicy } from '../users/sessions.js';
import type { Attempt, SignInDeps, UserPrincipal } from '../users/sign-in.js';
import { lockedMessage } from '../users/throttle.js';
import { regenerateRecoveryCodes } from '../users/two-factor.js';
import { TakedownError } from '../errors.js';
import { secureRoute } from './access.js';
import { auditRequest } from './client.js';
import { errorResponses, jsonContent } from './openapi.js';
import { PasswordSchema, text } from './text-schemas.js';
import type { AppEnv, RouteModule } from './types.js';

/** One's own account, for every signed-in person (`account:self`). */

const Me = z
  .object({
    id: z.number(),
    email: z.string(),
    role: z.string(),
    providerId: z.number().nullable(),
    twoFactor: z.boolean(),
    permissions: z.array(z.string()),
  })
  .openapi('Me');

const tags = ['Account'];
const json = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

const me = secureRoute('account:self', {
  method: 'get',
  path: '/v1/me',
  tags,
  summary: 'Who I am: account, role and what it may do',
  responses: { 200: jsonContent(Me, 'The signed-in account.'), ...errorResponses(401, 403) },
});
const password = secureRoute('account:self', {
  method: 'post',
  path: '/v1/me/password',
  tags,
  summary: 'Change my password (ends my other sessions)',
  request: json(z.object({ currentPassword: PasswordSchema, newPassword: PasswordSchema })),
  responses: {
    200: jsonContent(z.object({ sessionsEnded: z.number() }), 'Changed.'),
    ...errorResponses(400, 401, 403, 429),
  },
});
const recoveryCodes = secureRoute('account:self', {
  method: 'post',
  path: '/v1/me/recovery-codes',
  tags,
  summary: 'Replace my recovery codes (needs a current code from the authenticator app)',
  request: json(z.object({ code: text(16) })),
  responses: {
    200: jsonContent(z.object({ recoveryCodes: z.array(z.string()) }), 'Shown once.'),
    ...errorResponses(400, 401, 403, 429),
  },
});

function user(c: Context<AppEnv>): UserPrincipal {
  const principal = c.get('principal');
  // account:self is held only by signed-in people (PERSON_ONLY in permissions.ts).
  if (principal.kind !== 'user') throw new Error('account:self reached without a user session');
  return principal;
}

export const accountRoutes: RouteModule = {
  name: 'account',
  register(app, deps) {
    const signIn: SignInDeps = {
      db: deps.db,
      hasher: argon2Hasher(),
      policy: sessionPolicy(deps.config),
    };
    const attempt = (c: Context<AppEnv>): Attempt => ({
      request: auditRequest(c, deps.config.trustedProxyHops),
      now: deps.clock.now(),
    });
    const locked = (c: Context<AppEnv>, until: Date): TakedownError => {
      c.header(
        'Retry-After',
        String(Math.ceil((until.getTime() - deps.clock.now().getTime()) / 1000)),
      );
      return new TakedownError('sign-in-locked', lockedMessage(until), {
        kind: 'rate-limited',
        details: { lockedUntil: until.toISOString() },
      });
    };

    app.openapi(me, async (c) => {
      const principal = user(c);
      const account = await findUser(deps.db, principal.userId);
      return c.json(
        {
          id: account.id,
          email: account.email,
          role: account.role,
          providerId: account.providerId,
          twoFactor: account.twoFactor,
          permissions: [...ROLE_PERMISSIONS[account.role]],
        },
        200,
      );
    });
    app.openapi(password, async (c) => {
      const result = await changeOwnPassword(signIn, user(c), c.req.valid('json'), attempt(c));
      if (result.kind === 'locked') throw locked(c, result.until);
      if (result.kind === 'refused') {
        throw new TakedownError('wrong-password', 'The current password is wrong.', {
          kind: 'bad-input',
        });
      }
      return c.json({ sessionsEnded: result.sessionsEnded }, 200);
    });
    app.openapi(recoveryCodes, async (c) => {
      const result = await regenerateRecoveryCodes(
        signIn,
        user(c),
        c.req.valid('json').code,
        attempt(c),
      );
      if (result.kind === 'locked') throw locked(c, result.until);
      if (result.kind === 'refused') {
        throw new TakedownError('wrong-code', 'That code is not valid (or was already used).', {
          kind: 'bad-input',
        });
      }
      return c.json({ recoveryCodes: [...result.codes] }, 200);
    });
  },
};
