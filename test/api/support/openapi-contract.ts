/**
 * The OpenAPI document as a contract: every answer a test gets through `call` is validated against the
 * response schema that /api/openapi.json gives for its path, method and status (Ajv, OpenAPI 3.0's
 * `nullable` included), for the answer's media type (JSON bodies parsed, CSV, HTML and text as strings). An
 * answer whose status or media type the document does not describe fails as well.
 */
import type { FastifyInstance, LightMyRequestResponse } from 'fastify';
import { Ajv, type ValidateFunction } from 'ajv';
import addFormats from 'ajv-formats';

interface OpenApiDoc {
  paths: Record<string, Record<string, { responses?: Record<string, { content?: Record<string, { schema?: object }> }> }>>;
}

export interface Contract {
  /** Sends the request and checks its answer against the document; returns the answer. */
  call(method: 'GET' | 'POST' | 'PUT' | 'DELETE', url: string, headers: Record<string, string>, body?: unknown): Promise<LightMyRequestResponse>;
  /** Checks an answer got some other way (an event stream read over HTTP) against the document. */
  check(method: string, url: string, status: number, contentType: string, body: string): void;
  /** The path templates and methods answered so far, "POST /api/v1/cases/{id}/resolve 409". */
  seen: Set<string>;
  doc: OpenApiDoc;
}

export async function contractOf(app: FastifyInstance, headers: Record<string, string>): Promise<Contract> {
  const res = await app.inject({ method: 'GET', url: '/api/openapi.json', headers });
  if (res.statusCode !== 200) throw new Error(`/api/openapi.json answered ${res.statusCode}`);
  const doc = res.json<OpenApiDoc>();
  const ajv = new Ajv({ strict: false, allErrors: true });
  (addFormats as unknown as (a: Ajv) => void)(ajv);
  const templates = Object.keys(doc.paths).map((p) => ({ path: p, re: new RegExp(`^${p.replace(/[.+]/g, '\\$&').replace(/\{[^}]+\}/g, '[^/]+')}$`) }));
  const compiled = new Map<string, ValidateFunction>();
  const seen = new Set<string>();

  /** The validator of an answer: its status's schema for the answer's media type (JSON, CSV, HTML, text). */
  const validatorFor = (path: string, method: string, status: number, mediaType: string): ValidateFunction => {
    const key = `${method} ${path} ${status} ${mediaType}`;
    let v = compiled.get(key);
    if (v === undefined) {
      const responses = doc.paths[path]?.[method.toLowerCase()]?.responses ?? {};
      const described = responses[String(status)] ?? responses[`${String(status)[0]}XX`] ?? responses.default;
      if (described === undefined) throw new Error(`the OpenAPI document describes no ${status} answer of ${method} ${path}`);
      const schema = described.content?.[mediaType]?.schema;
      if (schema === undefined) throw new Error(`the OpenAPI document describes the ${status} answer of ${method} ${path} as ${Object.keys(described.content ?? {}).join(', ') || 'nothing'}, not ${mediaType}`);
      v = ajv.compile(schema);
      compiled.set(key, v);
    }
    return v;
  };

  const templateOf = (method: string, url: string): string => {
    const bare = url.split('?')[0]!;
    const t = templates.find((x) => x.re.test(bare) && doc.paths[x.path]?.[method.toLowerCase()] !== undefined);
    if (t === undefined) throw new Error(`the OpenAPI document has no ${method} ${bare}`);
    return t.path;
  };

  const check = (method: string, url: string, status: number, contentType: string, body: string): void => {
    const path = templateOf(method, url);
    const mediaType = contentType.split(';')[0]!.trim().toLowerCase();
    const validate = validatorFor(path, method, status, mediaType);
    const value: unknown = mediaType.includes('json') ? JSON.parse(body) : body;
    if (!validate(value)) {
      throw new Error(`${method} ${url} ${status} does not match the document: ${ajv.errorsText(validate.errors)}\n${body.slice(0, 2000)}`);
    }
    seen.add(`${method} ${path} ${status}`);
  };

  return {
    doc,
    seen,
    check,
    async call(method, url, callHeaders, body) {
      const r = await app.inject({ method, url, headers: callHeaders, ...(body === undefined ? {} : { payload: body as object }) });
      check(method, url, r.statusCode, String(r.headers['content-type'] ?? ''), r.body);
      return r;
    },
  };
}
