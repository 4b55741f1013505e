/**
 * The checked-in openapi.json, and assertions that a real response or message matches one of its
 * schemas: the API tests validate what the server sends against exactly what the document promises.
 */
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';

export function repoRoot(): string {
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'package.json'))) dir = path.dirname(dir);
  return dir;
}

export const spec = JSON.parse(readFileSync(path.join(repoRoot(), 'openapi.json'), 'utf8')) as {
  openapi: string;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, unknown> };
};

// The spec's `#/components/schemas/X` references, rewritten to `$defs` so that ajv (2020-12 draft,
// strict) validates against exactly the checked-in schemas.
const ajv = new Ajv2020({ allErrors: true, strict: true, formats: { 'date-time': /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/ } });
ajv.addSchema(JSON.parse(JSON.stringify({ $id: 'api', $defs: spec.components.schemas }).replaceAll('#/components/schemas/', 'api#/$defs/')));
const validators = new Map<string, ValidateFunction>();

export function assertSchema(name: string, value: unknown): void {
  let v = validators.get(name);
  if (!v) {
    v = ajv.compile({ $ref: `api#/$defs/${name}` });
    validators.set(name, v);
  }
  assert.ok(v(value), `${name}: ${ajv.errorsText(v.errors)}\n${JSON.stringify(value).slice(0, 2000)}`);
}
