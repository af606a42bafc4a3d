/**
 * The API reference at /docs: plain HTML rendered on the server from the
 * OpenAPI document, with its styles inline, so it works offline and under a
 * strict content-security policy (no scripts, no CDN).
 */

/** The slice of an OpenAPI 3.1 document this page reads. */
export interface ApiDocument {
  readonly info: {
    readonly title: string;
    readonly version: string;
    readonly description?: string;
  };
  readonly paths?: Readonly<Record<string, Readonly<Record<string, unknown>>>>;
  readonly components?: { readonly schemas?: Readonly<Record<string, Schema>> };
}

type Schema = Readonly<Record<string, unknown>>;

interface Operation {
  readonly summary?: string;
  readonly description?: string;
  readonly tags?: readonly string[];
  readonly parameters?: ReadonlyArray<{
    readonly name: string;
    readonly in: string;
    readonly required?: boolean;
    readonly description?: string;
    readonly schema?: Schema;
  }>;
  readonly requestBody?: {
    readonly description?: string;
    readonly required?: boolean;
    readonly content?: Readonly<Record<string, { readonly schema?: Schema }>>;
  };
  readonly responses?: Readonly<
    Record<
      string,
      {
        readonly description?: string;
        readonly content?: Readonly<Record<string, { readonly schema?: Schema }>>;
      }
    >
  >;
}

const METHODS = ['get', 'post', 'put', 'patch', 'delete'] as const;

export function escapeHtml(text: string): string {
  return text
    .replaceAll('&', '&amp;')
    .replaceAll('<', '&lt;')
    .replaceAll('>', '&gt;')
    .replaceAll('"', '&quot;')
    .replaceAll("'", '&#39;');
}

/** Descriptions may use `code`; nothing else is interpreted. */
function inline(text: string | undefined): string {
  return escapeHtml(text ?? '').replace(/`([^`]+)`/g, '<code>$1</code>');
}

function prose(text: string | undefined): string {
  return text === undefined || text === '' ? '' : `<p>${inline(text)}</p>`;
}

const anchor = (text: string): string => text.replace(/[^A-Za-z0-9]+/g, '-');

function typeName(schema: Schema): string {
  if (typeof schema.$ref === 'string') {
    const name = schema.$ref.split('/').at(-1) as string;
    return `<a href="#schema-${anchor(name)}">${escapeHtml(name)}</a>`;
  }
  if ('const' in schema) return `<code>${escapeHtml(JSON.stringify(schema.const))}</code>`;
  if (Array.isArray(schema.enum)) {
    return `one of ${schema.enum.map((v) => `<code>${escapeHtml(JSON.stringify(v))}</code>`).join(', ')}`;
  }
  const type = Array.isArray(schema.type)
    ? schema.type.join(' or ')
    : (schema.type as string | undefined);
  if (type === 'array' && schema.items) return `array of ${typeName(schema.items as Schema)}`;
  const variants = (schema.anyOf ?? schema.oneOf) as Schema[] | undefined;
  if (variants) return variants.map(typeName).join(' | ');
  const limits = [
    'format',
    'minimum',
    'maximum',
    'minLength',
    'maxLength',
    'minItems',
    'maxItems',
    'pattern',
    'default',
  ]
    .filter((key) => key in schema)
    .map((key) => `${key} ${escapeHtml(JSON.stringify(schema[key]))}`);
  return `${escapeHtml(type ?? 'any')}${limits.length ? ` <small>(${limits.join(', ')})</small>` : ''}`;
}

type Schemas = Readonly<Record<string, Schema>>;

/** The schema a `$ref` points at (one level), so a body's fields show where it is used. */
function resolve(schema: Schema, schemas: Schemas): Schema {
  return typeof schema.$ref === 'string'
    ? (schemas[schema.$ref.split('/').at(-1) as string] ?? schema)
    : schema;
}

function schemaHtml(schema: Schema | undefined, schemas: Schemas, depth = 0): string {
  if (schema === undefined) return '';
  const own = depth === 0 ? resolve(schema, schemas) : schema;
  const items = own.type === 'array' ? (own.items as Schema | undefined) : undefined;
  const target = items === undefined ? own : depth === 0 ? resolve(items, schemas) : items;
  const properties = target.properties as Readonly<Record<string, Schema>> | undefined;
  // Nested objects are introduced by their property's line already.
  const head =
    depth === 0
      ? `<div class="type">${typeName(schema)}</div>${prose(own.description as string | undefined)}`
      : '';
  if (properties === undefined || depth > 6) return head;
  const required = new Set((target.required as string[] | undefined) ?? []);
  const rows = Object.entries(properties).map(([name, property]) => {
    const nested = property.properties || (property.items as Schema | undefined)?.properties;
    return `<li><code>${escapeHtml(name)}</code>${required.has(name) ? ' <span class="req">required</span>' : ''} ${typeName(property)}${prose(property.description as string | undefined)}${nested ? schemaHtml(property, schemas, depth + 1) : ''}</li>`;
  });
  return `${head}<ul class="props">${rows.join('')}</ul>`;
}

/** Bodies and successful responses show their fields; error bodies link to the one Error schema. */
function contentHtml(
  content: Readonly<Record<string, { readonly schema?: Schema }>> | undefined,
  schemas: Schemas,
  expand: boolean,
): string {
  return Object.entries(content ?? {})
    .map(
      ([type, { schema }]) =>
        `<div class="media">${escapeHtml(type)}</div>${expand ? schemaHtml(schema, schemas) : schema ? `<div class="type">${typeName(schema)}</div>` : ''}`,
    )
    .join('');
}

function operationHtml(method: string, path: string, op: Operation, schemas: Schemas): string {
  const id = anchor(`${method}-${path}`);
  const params = op.parameters ?? [];
  const paramRows = params
    .map(
      (p) =>
        `<tr><td><code>${escapeHtml(p.name)}</code></td><td>${escapeHtml(p.in)}</td><td>${p.required ? 'yes' : 'no'}</td><td>${p.schema ? typeName(p.schema) : ''}${prose(p.description)}</td></tr>`,
    )
    .join('');
  const responses = Object.entries(op.responses ?? {})
    .map(
      ([status, r]) =>
        `<div class="response"><span class="status s${status[0]}">${escapeHtml(status)}</span> ${inline(r.description)}${contentHtml(r.content, schemas, status.startsWith('2'))}</div>`,
    )
    .join('');
  return `<section class="op" id="${id}">
<h3><span class="method ${method}">${method.toUpperCase()}</span> <code>${escapeHtml(path)}</code></h3>
${op.summary ? `<p class="summary">${escapeHtml(op.summary)}</p>` : ''}${prose(op.description)}
${params.length ? `<h4>Parameters</h4><table><tr><th>Name</th><th>In</th><th>Required</th><th>Type</th></tr>${paramRows}</table>` : ''}
${op.requestBody ? `<h4>Request body${op.requestBody.required ? '' : ' (optional)'}</h4>${prose(op.requestBody.description)}${contentHtml(op.requestBody.content, schemas, true)}` : ''}
<h4>Responses</h4>${responses}
</section>`;
}

const STYLE = `body{font:15px/1.5 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#1b1b1b}
code{font:13px ui-monospace,monospace;background:#f3f3f3;padding:0 .2em;border-radius:3px}
h1{margin-bottom:0}.version{color:#666}.op{border-top:1px solid #ddd;padding-top:.5rem;margin-top:1.5rem}
.method{font:bold 12px ui-monospace,monospace;padding:.15em .5em;border-radius:3px;color:#fff;background:#555}
.get{background:#2f6f3e}.post{background:#1f5fa8}.put,.patch{background:#8a5a00}.delete{background:#a12b2b}
.summary{font-weight:600}.type{margin:.2rem 0}.props{margin:.2rem 0 .5rem}.req{color:#a12b2b;font-size:12px}
table{border-collapse:collapse}td,th{border:1px solid #ddd;padding:.2rem .5rem;text-align:left;vertical-align:top}
.media{color:#666;font-size:13px}.status{font-weight:bold}.s2{color:#2f6f3e}.s4,.s5{color:#a12b2b}
.response{margin:.4rem 0}p{margin:.2rem 0}nav li{list-style:none}`;

export function renderDocsPage(doc: ApiDocument): string {
  const schemas: Schemas = doc.components?.schemas ?? {};
  const operations = Object.entries(doc.paths ?? {}).flatMap(([path, item]) =>
    METHODS.filter((m) => item[m] !== undefined).map((m) => ({
      method: m,
      path,
      op: item[m] as Operation,
    })),
  );
  const tags = [...new Set(operations.map((o) => o.op.tags?.[0] ?? 'Other'))].sort();
  const sections = tags.map((tag) => {
    const inTag = operations.filter((o) => (o.op.tags?.[0] ?? 'Other') === tag);
    return `<h2 id="tag-${anchor(tag)}">${escapeHtml(tag)}</h2>${inTag.map((o) => operationHtml(o.method, o.path, o.op, schemas)).join('\n')}`;
  });
  const toc = tags
    .map((tag) => {
      const links = operations
        .filter((o) => (o.op.tags?.[0] ?? 'Other') === tag)
        .map(
          (o) =>
            `<li><a href="#${anchor(`${o.method}-${o.path}`)}">${o.method.toUpperCase()} ${escapeHtml(o.path)}</a>${o.op.summary ? ` — ${escapeHtml(o.op.summary)}` : ''}</li>`,
        )
        .join('');
      return `<li><a href="#tag-${anchor(tag)}">${escapeHtml(tag)}</a><ul>${links}</ul></li>`;
    })
    .join('');
  const schemaSections = Object.entries(schemas)
    .map(
      ([name, schema]) =>
        `<section id="schema-${anchor(name)}"><h3>${escapeHtml(name)}</h3>${schemaHtml(schema, schemas)}</section>`,
    )
    .join('\n');
  return `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>${escapeHtml(doc.info.title)} reference</title><style>${STYLE}</style></head>
<body><h1>${escapeHtml(doc.info.title)}</h1><div class="version">version ${escapeHtml(doc.info.version)} · machine-readable: <a href="/openapi.json">/openapi.json</a></div>
${prose(doc.info.description)}
<nav><ul>${toc}</ul></nav>
${sections.join('\n')}
${schemaSections ? `<h2 id="schemas">Schemas</h2>${schemaSections}` : ''}
</body></html>
`;
}
