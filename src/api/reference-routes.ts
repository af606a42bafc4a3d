import { renderDocsPage } from './docs-page.js';
import type { ApiDocument } from './docs-page.js';
import { apiDocument } from './openapi.js';
import type { RouteModule } from './types.js';

/** /openapi.json and /docs, generated from the routes' own schemas. */
export const referenceRoutes: RouteModule = {
  name: 'reference',
  permissions: { 'GET /openapi.json': 'public', 'GET /docs': 'public' },
  register(app, deps) {
    // Routes are all registered before the first request, so build once.
    let document: ReturnType<typeof apiDocument> | undefined;
    let page: string | undefined;
    const current = (): ReturnType<typeof apiDocument> =>
      (document ??= apiDocument(app, deps.version));
    app.get('/openapi.json', (c) => c.json(current()));
    app.get('/docs', (c) => {
      page ??= renderDocsPage(current() as unknown as ApiDocument);
      return c.html(page, 200, {
        // Inline styles only; nothing may load or run.
        'Content-Security-Policy':
          "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'",
      });
    });
  },
};
