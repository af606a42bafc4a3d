import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import { ROLES } from '../access/principal.js';
import {
  createUser,
  findUser,
  listUsers,
  resetPassword,
  resetTwoFactor,
  updateUser,
} from '../users/accounts.js';
import type { Acting, UserSummary } from '../users/accounts.js';
import { argon2Hasher } from '../users/passwords.js';
import { secureRoute } from './access.js';
import { auditRequest } from './client.js';
import { errorResponses, jsonContent } from './openapi.js';
import { EmailSchema } from './text-schemas.js';
import type { AppEnv, RouteModule } from './types.js';

/**
 * Staff accounts for administrators (`users:manage`). New accounts and
 * password resets answer with a one-time password, shown once: hand it over
 * out of band; its owner replaces it at first sign-in, after setting up
 * two-factor sign-in.
 */

const User = z
  .object({
    id: z.number(),
    email: z.string(),
    role: z.enum(ROLES),
    providerId: z.number().nullable(),
    disabled: z.boolean(),
    twoFactor: z.boolean(),
    mustChangePassword: z.boolean(),
    createdAt: z.string(),
  })
  .openapi('User');

const Issued = z
  .object({ user: User, oneTimePassword: z.string(), expiresAt: z.string() })
  .openapi('UserWithOneTimePassword');

const tags = ['Users'];
const IdParam = z.object({
  id: z.coerce
    .number()
    .int()
    .positive()
    .max(2 ** 31 - 1),
});
const json = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

const list = secureRoute('users:manage', {
  method: 'get',
  path: '/v1/users',
  tags,
  summary: 'List staff accounts',
  responses: {
    200: jsonContent(z.object({ users: z.array(User) }), 'Every account, oldest first.'),
    ...errorResponses(401, 403),
  },
});
const create = secureRoute('users:manage', {
  method: 'post',
  path: '/v1/users',
  tags,
  summary: 'Create a staff account; answers with its one-time password',
  request: json(
    z.object({
      email: EmailSchema,
      role: z.enum(ROLES),
      providerId: z.number().int().positive().nullable().optional(),
    }),
  ),
  responses: {
    201: jsonContent(Issued, 'Created. The one-time password is shown only now.'),
    ...errorResponses(400, 401, 403, 409),
  },
});
const show = secureRoute('users:manage', {
  method: 'get',
  path: '/v1/users/{id}',
  tags,
  summary: 'One staff account',
  request: { params: IdParam },
  responses: { 200: jsonContent(User, 'The account.'), ...errorResponses(401, 403, 404) },
});
const change = secureRoute('users:manage', {
  method: 'patch',
  path: '/v1/users/{id}',
  tags,
  summary: 'Change role or provider, disable or enable (ends the account’s sessions)',
  request: {
    params: IdParam,
    ...json(
      z.object({
        role: z.enum(ROLES).optional(),
        providerId: z.number().int().positive().nullable().optional(),
        disabled: z.boolean().optional(),
      }),
    ),
  },
  responses: { 200: jsonContent(User, 'Changed.'), ...errorResponses(400, 401, 403, 404, 409) },
});
const reset2fa = secureRoute('users:manage', {
  method: 'post',
  path: '/v1/users/{id}/reset-2fa',
  tags,
  summary: 'Remove two-factor sign-in (lost phone); it is set up again at next sign-in',
  request: { params: IdParam },
  responses: { 200: jsonContent(User, 'Reset.'), ...errorResponses(401, 403, 404) },
});
const resetPass = secureRoute('users:manage', {
  method: 'post',
  path: '/v1/users/{id}/reset-password',
  tags,
  summary: 'Issue a new one-time password (forgotten password)',
  request: { params: IdParam },
  responses: { 200: jsonContent(Issued, 'Shown only now.'), ...errorResponses(401, 403, 404) },
});

const view = (user: UserSummary) => ({ ...user, createdAt: user.createdAt.toISOString() });

export const userRoutes: RouteModule = {
  name: 'users',
  register(app, deps) {
    const hasher = argon2Hasher();
    const acting = (c: Context<AppEnv>): Acting => ({
      actor: c.get('principal'),
      request: auditRequest(c, deps.config.trustedProxyHops),
      now: deps.clock.now(),
    });

    app.openapi(list, async (c) => c.json({ users: (await listUsers(deps.db)).map(view) }, 200));
    app.openapi(create, async (c) => {
      const created = await createUser(deps.db, hasher, c.req.valid('json'), acting(c));
      return c.json(
        {
          user: view(created.user),
          oneTimePassword: created.oneTimePassword,
          expiresAt: created.expiresAt.toISOString(),
        },
        201,
      );
    });
    app.openapi(show, async (c) =>
      c.json(view(await findUser(deps.db, c.req.valid('param').id)), 200),
    );
    app.openapi(change, async (c) => {
      const updated = await updateUser(
        deps.db,
        c.req.valid('param').id,
        c.req.valid('json'),
        acting(c),
      );
      return c.json(view(updated), 200);
    });
    app.openapi(reset2fa, async (c) =>
      c.json(view(await resetTwoFactor(deps.db, c.req.valid('param').id, acting(c))), 200),
    );
    app.openapi(resetPass, async (c) => {
      const issued = await resetPassword(deps.db, hasher, c.req.valid('param').id, acting(c));
      return c.json(
        {
          user: view(issued.user),
          oneTimePassword: issued.oneTimePassword,
          expiresAt: issued.expiresAt.toISOString(),
        },
        200,
      );
    });
  },
};
