/**
 * openapi.json as the tests read it: its schemas compiled by ajv (2020-12 draft, strict), and each
 * operation's responses with `$ref`s to shared responses followed, so that a test can check any body
 * (a real response, a WebSocket message, an example in the spec) against what the spec says.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json')) || !existsSync(path.join(dir, 'openapi.json'))) dir = path.dirname(dir);
  return dir;
}

export interface MediaType {
  schema?: unknown;
  example?: unknown;
  examples?: Record<string, { summary?: string; value?: unknown }>;
}
export interface ResponseObject {
  description: string;
  content?: Record<string, MediaType>;
}
interface Operation {
  operationId: string;
  responses: Record<string, ResponseObject | { $ref: string }>;
}

export const spec = JSON.parse(readFileSync(path.join(repoRoot(), 'openapi.json'), 'utf8')) as {
  openapi: string;
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, { examples?: unknown[] }>; responses: Record<string, ResponseObject> };
};

export const HTTP_METHODS = ['get', 'put', 'post', 'delete', 'patch', 'options', 'head', 'trace'] as const;

// The spec's `#/components/schemas/X` references, rewritten to `$defs` so that ajv validates against
// exactly the checked-in schemas.
const ajv = new Ajv2020({ allErrors: true, strict: true, formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/ } });
const toDefs = (schema: unknown): unknown => JSON.parse(JSON.stringify(schema).replaceAll('#/components/schemas/', 'api#/$defs/'));
ajv.addSchema({ $id: 'api', $defs: toDefs(spec.components.schemas) as object });
const validators = new Map<string, ValidateFunction>();

function validatorFor(schema: unknown): ValidateFunction {
  const key = JSON.stringify(schema);
  let v = validators.get(key);
  if (!v) {
    v = ajv.compile(toDefs(schema) as object);
    validators.set(key, v);
  }
  return v;
}

/** Why `value` does not fit `schema` (any schema of the spec, with its references), or undefined when it fits. */
export function schemaErrors(schema: unknown, value: unknown): string | undefined {
  const v = validatorFor(schema);
  return v(value) ? undefined : ajv.errorsText(v.errors);
}

/** `value` is a `components/schemas/<name>`. */
export function assertSchema(name: string, value: unknown): void {
  const errors = schemaErrors({ $ref: `#/components/schemas/${name}` }, value);
  assert.equal(errors, undefined, `${name}: ${errors}\n${JSON.stringify(value).slice(0, 2000)}`);
}

/** Every operation: its path template, method and responses (shared ones resolved). */
export function operations(): Array<{ path: string; method: string; operationId: string; responses: Record<string, ResponseObject> }> {
  return Object.entries(spec.paths).flatMap(([p, item]) =>
    Object.entries(item)
      .filter(([method]) => (HTTP_METHODS as readonly string[]).includes(method))
      .map(([method, op]) => ({
        path: p,
        method,
        operationId: op.operationId,
        responses: Object.fromEntries(Object.entries(op.responses).map(([status, r]) => [status, resolveResponse(r)])),
      })),
  );
}

function resolveResponse(r: ResponseObject | { $ref: string }): ResponseObject {
  if (!('$ref' in r)) return r;
  const name = /^#\/components\/responses\/(.+)$/.exec(r.$ref)?.[1];
  const resolved = name ? spec.components.responses[name] : undefined;
  assert.ok(resolved, `unresolved response ${r.$ref}`);
  return resolved;
}

/** What the spec says `method path` answers with `status`. */
export function responseOf(pathTemplate: string, method: string, status: number): ResponseObject | undefined {
  return operations().find((o) => o.path === pathTemplate && o.method === method.toLowerCase())?.responses[String(status)];
}
