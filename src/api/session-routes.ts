import { z } from '@hono/zod-openapi';
import type { Context } from 'hono';
import type { Principal } from '../access/principal.js';
import { TakedownError } from '../errors.js';
import { argon2Hasher } from '../users/passwords.js';
import { replaceOneTimePassword } from '../users/own-password.js';
import { sessionPolicy } from '../users/sessions.js';
import type { NewSession } from '../users/sessions.js';
import { signInSecondFactor, signInWithPassword, signOut } from '../users/sign-in.js';
import type { Attempt, SignInDeps, SignInPrincipal, StepResult } from '../users/sign-in.js';
import { lockedMessage } from '../users/throttle.js';
import { confirmEnrolment, startEnrolment } from '../users/two-factor.js';
import { secureRoute } from './access.js';
import { auditRequest } from './client.js';
import { errorResponses, jsonContent } from './openapi.js';
import { clearSessionCookie, writeSessionCookie } from './session-cookie.js';
import { EmailSchema, PasswordSchema, text } from './text-schemas.js';
import type { AppEnv, RouteModule } from './types.js';

/**
 * Signing in and out. A sign-in goes password -> second factor (or, the
 * first time, enrolling one) -> a new password when the current one was a
 * one-time password -> signed in; each step answers with the next one and
 * a new session cookie, and GET /v1/session says where a browser stands.
 */

const SessionState = z
  .discriminatedUnion('state', [
    z.object({ state: z.literal('anonymous') }),
    z.object({
      state: z.literal('signing-in'),
      step: z.enum(['totp', 'enrol', 'password']).openapi({
        description:
          '`totp`: POST /v1/session/second-factor. `enrol`: POST /v1/session/enrolment, then /v1/session/enrolment/confirm. `password`: POST /v1/session/password.',
      }),
      csrfToken: z.string().optional(),
      expiresAt: z.string().optional(),
    }),
    z.object({
      state: z.literal('signed-in'),
      user: z.object({
        id: z.number(),
        email: z.string(),
        role: z.string(),
        providerId: z.number().nullable(),
      }),
      csrfToken: z.string().optional(),
      expiresAt: z.string().optional(),
    }),
  ])
  .openapi('SessionState', {
    description:
      'Send `csrfToken` as the `X-CSRF-Token` header with every POST, PATCH and DELETE made with the session cookie.',
  });

const json = <T extends z.ZodType>(schema: T) => ({
  body: { content: { 'application/json': { schema } }, required: true },
});

const answers = {
  200: jsonContent(SessionState, 'Where the session stands now.'),
  ...errorResponses(400, 401, 403, 409, 429),
};
const tags = ['Sign-in'];

const state = secureRoute('public', {
  method: 'get',
  path: '/v1/session',
  tags,
  summary: 'Where this browser stands: signed out, signing in, or signed in',
  responses: answers,
});
const login = secureRoute('public', {
  method: 'post',
  path: '/v1/session/login',
  tags,
  summary: 'Sign in with e-mail and password',
  description:
    'Wrong passwords are counted per account and per address: after 5 for an account (20 for an address) within 15 minutes, sign-in is refused with 429 until the time given, the same way whether or not the account exists.',
  request: json(z.object({ email: EmailSchema, password: PasswordSchema })),
  responses: answers,
});
const secondFactor = secureRoute('sign-in:continue', {
  method: 'post',
  path: '/v1/session/second-factor',
  tags,
  summary: 'Give the code from the authenticator app, or a recovery code',
  request: json(
    z
      .object({ code: text(16).optional(), recoveryCode: text(64).optional() })
      .refine(
        (b) => (b.code === undefined) !== (b.recoveryCode === undefined),
        'give either code or recoveryCode',
      ),
  ),
  responses: answers,
});
const enrol = secureRoute('sign-in:continue', {
  method: 'post',
  path: '/v1/session/enrolment',
  tags,
  summary: 'Start setting up two-factor sign-in: get the secret for an authenticator app',
  responses: {
    200: jsonContent(
      z.object({ secret: z.string(), otpauthUri: z.string() }),
      'Add the secret to an authenticator app (the URI is what a QR code carries), then confirm with its first code.',
    ),
    ...errorResponses(401, 403, 409),
  },
});
const confirm = secureRoute('sign-in:continue', {
  method: 'post',
  path: '/v1/session/enrolment/confirm',
  tags,
  summary: 'Confirm two-factor sign-in with the first code; returns recovery codes once',
  request: json(z.object({ code: text(16) })),
  responses: {
    200: jsonContent(
      z.object({ session: SessionState, recoveryCodes: z.array(z.string()) }),
      'Two-factor sign-in is on. Keep the recovery codes somewhere safe: they are shown only now.',
    ),
    ...errorResponses(400, 401, 403, 409, 429),
  },
});
const newPassword = secureRoute('sign-in:continue', {
  method: 'post',
  path: '/v1/session/password',
  tags,
  summary: 'Replace the one-time password with your own (the last step of a first sign-in)',
  request: json(z.object({ newPassword: PasswordSchema })),
  responses: answers,
});
const logout = secureRoute('public', {
  method: 'post',
  path: '/v1/session/logout',
  tags,
  summary: 'Sign out: the session ends on the server',
  responses: answers,
});

function signingIn(c: Context<AppEnv>): SignInPrincipal {
  const principal = c.get('principal');
  if (principal.kind !== 'signing-in')
    throw new Error('sign-in:continue is held only while signing in');
  return principal;
}

type State = z.infer<typeof SessionState>;

function describe(principal: Principal): State {
  switch (principal.kind) {
    case 'signing-in':
      return { state: 'signing-in', step: principal.step };
    case 'user':
      return {
        state: 'signed-in',
        user: {
          id: principal.userId,
          email: principal.email,
          role: principal.role,
          providerId: principal.providerId,
        },
      };
    default:
      return { state: 'anonymous' };
  }
}

export const sessionRoutes: RouteModule = {
  name: 'sign-in',
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
    /** The answer to a step: the next step under a new cookie, or why not. */
    const answer = async (
      c: Context<AppEnv>,
      principal: Principal,
      result: StepResult,
    ): Promise<State> => {
      switch (result.kind) {
        case 'next': {
          writeSessionCookie(c, deps.config, result.session.token, result.session.expiresAt);
          return stateOf(result.session);
        }
        case 'locked':
          c.header(
            'Retry-After',
            String(Math.ceil((result.until.getTime() - deps.clock.now().getTime()) / 1000)),
          );
          throw new TakedownError('sign-in-locked', lockedMessage(result.until), {
            kind: 'rate-limited',
            details: { lockedUntil: result.until.toISOString() },
          });
        case 'refused':
          if (result.sessionEnded) clearSessionCookie(c, deps.config);
          throw refusal(principal, result.sessionEnded);
        case 'disabled':
          throw new TakedownError(
            'account-disabled',
            'This account is disabled; ask an administrator.',
            {
              kind: 'unauthorized',
            },
          );
        case 'password-expired':
          throw new TakedownError(
            'one-time-password-expired',
            'This one-time password has expired; ask an administrator for a new one.',
            { kind: 'unauthorized' },
          );
      }
    };

    app.openapi(state, async (c) => {
      const principal = c.get('principal');
      if (principal.kind === 'anonymous' || principal.kind === 'api-key')
        return c.json(describe(principal), 200);
      const row = await deps.db
        .selectFrom('user_session')
        .select(['csrf_token', 'expires_at'])
        .where('id', '=', principal.sessionId)
        .executeTakeFirstOrThrow();
      return c.json(
        {
          ...describe(principal),
          csrfToken: row.csrf_token,
          expiresAt: row.expires_at.toISOString(),
        },
        200,
      );
    });
    app.openapi(login, async (c) => {
      const result = await signInWithPassword(signIn, c.req.valid('json'), attempt(c));
      return c.json(await answer(c, c.get('principal'), result), 200);
    });
    app.openapi(secondFactor, async (c) => {
      const principal = signingIn(c);
      const result = await signInSecondFactor(signIn, principal, c.req.valid('json'), attempt(c));
      return c.json(await answer(c, principal, result), 200);
    });
    app.openapi(enrol, async (c) => c.json(await startEnrolment(signIn, signingIn(c)), 200));
    app.openapi(confirm, async (c) => {
      const principal = signingIn(c);
      const { result, recoveryCodes } = await confirmEnrolment(
        signIn,
        principal,
        c.req.valid('json').code,
        attempt(c),
      );
      return c.json(
        { session: await answer(c, principal, result), recoveryCodes: [...recoveryCodes] },
        200,
      );
    });
    app.openapi(newPassword, async (c) => {
      const principal = signingIn(c);
      const session = await replaceOneTimePassword(
        signIn,
        principal,
        c.req.valid('json').newPassword,
        attempt(c),
      );
      return c.json(await answer(c, principal, { kind: 'next', session }), 200);
    });
    app.openapi(logout, async (c) => {
      const principal = c.get('principal');
      await signOut(deps.db, principal, attempt(c));
      // Only a session that was ended loses its cookie: a forged sign-out
      // (no CSRF token, so no principal) changes nothing.
      if (principal.kind === 'user' || principal.kind === 'signing-in') {
        clearSessionCookie(c, deps.config);
      }
      return c.json({ state: 'anonymous' as const }, 200);
    });

    /** Where a session just created or moved on stands. */
    async function stateOf(session: NewSession): Promise<State> {
      const times = { csrfToken: session.csrfToken, expiresAt: session.expiresAt.toISOString() };
      if (session.stage !== 'active') return { state: 'signing-in', step: session.stage, ...times };
      const user = await deps.db
        .selectFrom('user_session as s')
        .innerJoin('app_user as u', 'u.id', 's.user_id')
        .select(['u.id', 'u.email', 'u.role', 'u.provider_id'])
        .where('s.id', '=', session.id)
        .executeTakeFirstOrThrow();
      return {
        state: 'signed-in',
        user: { id: user.id, email: user.email, role: user.role, providerId: user.provider_id },
        ...times,
      };
    }
  },
};

function refusal(principal: Principal, sessionEnded: boolean): TakedownError {
  if (principal.kind === 'signing-in') {
    return new TakedownError(
      'wrong-code',
      sessionEnded
        ? 'That code is not valid, and this sign-in has had too many wrong codes; start again with your password.'
        : 'That code is not valid (or was already used); try the current one.',
      { kind: 'unauthorized', details: { sessionEnded } },
    );
  }
  return new TakedownError('sign-in-failed', 'The e-mail address or the password is wrong.', {
    kind: 'unauthorized',
  });
}
