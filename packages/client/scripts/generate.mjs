#!/usr/bin/env node
// Generates src/schema.ts (the API's types) from the repository's openapi.json with openapi-typescript.
//
//   node packages/client/scripts/generate.mjs           write src/schema.ts
//   node packages/client/scripts/generate.mjs --check   exit 1 when src/schema.ts is not what openapi.json gives
//
// The check is what the unit tests run: a spec change without a regenerated client fails them.
import { readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import openapiTS, { astToString } from 'openapi-typescript';

const here = path.dirname(fileURLToPath(import.meta.url));
const specFile = path.resolve(here, '../../../openapi.json');
const schemaFile = path.resolve(here, '../src/schema.ts');

const HEADER = `/**
 * The Plan API's types, generated from openapi.json by openapi-typescript.
 * Do not edit: run \`npm run client:generate\` after changing openapi.json.
 */

`;

const schema = HEADER + astToString(await openapiTS(pathToFileURL(specFile)));

if (process.argv.includes('--check')) {
  const current = await readFile(schemaFile, 'utf8').catch(() => '');
  if (current !== schema) {
    console.error(`${path.relative(process.cwd(), schemaFile)} is stale: openapi.json changed; run npm run client:generate`);
    process.exit(1);
  }
  console.log(`${path.relative(process.cwd(), schemaFile)} matches openapi.json`);
} else {
  await writeFile(schemaFile, schema);
  console.log(`wrote ${path.relative(process.cwd(), schemaFile)}`);
}
