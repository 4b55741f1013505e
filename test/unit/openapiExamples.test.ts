/**
 * The examples in openapi.json: every response that has a body shows at least one, every WebSocket
 * message type has one, and each fits its own schema (so the examples a frontend developer copies
 * are what the server really sends).
 */
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { operations, schemaErrors, spec } from './helpers/openapiSpec.js';

/** The message types a client can receive on /api/events (ServerMessage and the EventMessage union under it). */
function messageSchemas(): string[] {
  const refs = (name: string): string[] => {
    const s = spec.components.schemas[name] as { oneOf?: Array<{ $ref: string }> };
    return (s.oneOf ?? []).map((r) => r.$ref.replace('#/components/schemas/', ''));
  };
  return refs('ServerMessage').flatMap((n) => (n === 'EventMessage' ? refs(n) : [n]));
}

describe('openapi.json examples', () => {
  test('every response with a body has examples, and each fits the response schema', () => {
    const missing: string[] = [];
    let checked = 0;
    for (const op of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        for (const [type, media] of Object.entries(response.content ?? {})) {
          const where = `${op.method.toUpperCase()} ${op.path} ${status} ${type}`;
          const values = [...(media.example !== undefined ? [['example', media.example] as const] : []), ...Object.entries(media.examples ?? {}).map(([name, e]) => [name, e.value] as const)];
          if (values.length === 0) missing.push(where);
          for (const [name, value] of values) {
            assert.notEqual(value, undefined, `${where}: example ${name} has no value`);
            const errors = schemaErrors(media.schema, value);
            assert.equal(errors, undefined, `${where}: example ${name}: ${errors}`);
            checked++;
          }
        }
      }
    }
    assert.deepEqual(missing, [], 'responses without an example');
    assert.ok(checked > 30, `only ${checked} examples`);
  });

  test('error examples carry a code that fits their status', () => {
    const byStatus: Record<string, RegExp> = {
      '400': /^(invalid-json|invalid-request|invalid-argument|bad-request)$/,
      '401': /^unauthorized$/,
      '403': /^(bad-host|origin-not-allowed)$/,
      '404': /^(unknown-plan|unknown-task|log-not-found|not-found|plan-not-found)$/,
      '409': /^(orchestrator-running|not-running|other-host|commands-not-approved|in-place-required|checkout-dirty|status-\w+|task-claimed|git-error)$/,
      '413': /^body-too-large$/,
      '415': /^unsupported-media-type$/,
      '422': /^(plan-has-errors|start-failed|plan-\w+)$/,
      '426': /^upgrade-required$/,
    };
    for (const op of operations()) {
      for (const [status, response] of Object.entries(op.responses)) {
        if (!byStatus[status]) continue;
        for (const [name, e] of Object.entries(response.content?.['application/json']?.examples ?? {})) {
          const code = (e.value as { error: { code: string } }).error.code;
          assert.match(code, byStatus[status]!, `${op.path} ${status} example ${name}`);
        }
      }
    }
  });

  test('the 409 for a start lists the commands to approve', () => {
    const conflict = operations().find((o) => o.operationId === 'startOrchestrator')!.responses['409']!;
    const example = conflict.content!['application/json']!.examples!.commandsNotApproved!.value as { error: { code: string; commands: string[] } };
    assert.equal(example.error.code, 'commands-not-approved');
    assert.ok(example.error.commands.length > 0);
  });

  test('every WebSocket message type has an example that fits it and ServerMessage', () => {
    const names = messageSchemas();
    assert.ok(names.includes('SnapshotMessage') && names.includes('TaskActivityMessage'), names.join(', '));
    for (const name of names) {
      const examples = spec.components.schemas[name]!.examples ?? [];
      assert.ok(examples.length > 0, `${name} has no example`);
      for (const value of examples) {
        assert.equal(schemaErrors({ $ref: `#/components/schemas/${name}` }, value), undefined, name);
        assert.equal(schemaErrors({ $ref: '#/components/schemas/ServerMessage' }, value), undefined, `${name} as a ServerMessage`);
      }
    }
  });
});
