import { z } from '@hono/zod-openapi';

/**
 * Text fields that end up in the database: PostgreSQL text cannot hold NUL,
 * so it is refused at the door (400) rather than failing the query (500).
 * Anything else, quotes and SQL included, is just text: every query binds
 * its values as parameters.
 */
export const text = (max: number) =>
  z
    .string()
    .max(max)
    .refine((value) => !value.includes('\u0000'), 'must not contain NUL characters');

export const EmailSchema = text(254).openapi({ example: 'analyst@hotline.example' });
export const PasswordSchema = z.string().min(1).max(256);
