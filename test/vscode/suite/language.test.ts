/**
 * Diagnostics, quick fixes, hover, navigation, rename and outline of plan documents, through the
 * real VS Code API (the same commands the editor uses), in a fresh copy of test/vscode/workspace.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import type { PlanOrchestratorApi } from '../../../src/vscode/extension.js';
import { api, root, until } from './helpers.js';




function planDiagnostics(uri: vscode.Uri): vscode.Diagnostic[] {
  return vscode.languages.getDiagnostics(uri).filter((d) => d.source === 'plan');
}

function codeOf(d: vscode.Diagnostic): string {
  return typeof d.code === 'object' ? String(d.code.value) : String(d.code);
}

/** The range of the `nth` occurrence of `needle` in the document. */
function rangeOf(doc: vscode.TextDocument, needle: string, nth = 0): vscode.Range {
  const text = doc.getText();
  let at = -1;
  for (let i = 0; i <= nth; i++) {
    at = text.indexOf(needle, at + 1);
    assert.ok(at >= 0, `"${needle}" #${nth} is not in the document`);
  }
  return new vscode.Range(doc.positionAt(at), doc.positionAt(at + needle.length));
}

function sameRange(a: vscode.Range, b: vscode.Range): boolean {
  return a.start.isEqual(b.start) && a.end.isEqual(b.end);
}

const PLAN = `# Implementation Plan: Language Test

## Phase 1: Setup

- [ ] 1.1 Create the schema in \`src/db/schema.ts\`
- [ ] 1.2 Seed the data in \`src/db/schema.ts\`
- [ ] 1.3 Write the loader (depends: 1.1)

## Phase 2: Use

- [ ] 2.1 Query the data (depends: 1.3, 1.1)
- [ ] 2.2 Show the results

**VERIFY Phase 2:**
- [ ] Results appear
`;

suite('language features', () => {
  let a: PlanOrchestratorApi;
  let uri: vscode.Uri;
  let doc: vscode.TextDocument;

  /** Replaces the whole plan text and waits until the workspace has analysed exactly that version. */
  async function setText(text: string): Promise<void> {
    const edit = new vscode.WorkspaceEdit();
    edit.replace(uri, new vscode.Range(0, 0, doc.lineCount, 0), text);
    assert.ok(await vscode.workspace.applyEdit(edit), 'edit applied');
    assert.equal(doc.getText(), text);
    await until('the analysis of the new text', () => a.workspace.get(uri)?.analyzedVersion === doc.version);
  }

  async function applyAction(range: vscode.Range, title: string): Promise<void> {
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, range);
    const action = actions.find((x) => x.title === title);
    assert.ok(action, `no quick fix "${title}" in ${JSON.stringify(actions.map((x) => x.title))}`);
    assert.equal(action.kind?.value, vscode.CodeActionKind.QuickFix.value);
    assert.ok(action.edit, 'the quick fix carries its edit');
    assert.ok(await vscode.workspace.applyEdit(action.edit));
  }

  suiteSetup(async () => {
    a = await api();
    uri = vscode.Uri.file(path.join(root(), 'docs', 'plans', 'language.md'));
    await fs.writeFile(uri.fsPath, PLAN);
    await until('the new plan in workspace.plans()', () => a.workspace.plans().some((p) => p.uri.fsPath === uri.fsPath && p.analysis));
    doc = await vscode.workspace.openTextDocument(uri);
    await vscode.window.showTextDocument(doc);
  });

  suiteTeardown(async () => {
    if (!uri) return;
    if (vscode.window.activeTextEditor?.document === doc) await vscode.commands.executeCommand('workbench.action.revertAndCloseActiveEditor');
    await fs.rm(uri.fsPath, { force: true });
    await until('the plan to be gone', () => !a.workspace.plans().some((p) => p.uri.fsPath === uri.fsPath));
    await until('its diagnostics to be cleared', () => planDiagnostics(uri).length === 0);
  });

  test('an open plan gets diagnostics with code, source and related information', async () => {
    const diags = await until('the file-conflict warning', () => {
      const d = planDiagnostics(uri);
      return d.length > 0 && d;
    });
    assert.deepEqual(diags.map(codeOf), ['file-conflict']);
    const conflict = diags[0]!;
    assert.equal(conflict.severity, vscode.DiagnosticSeverity.Warning);
    assert.ok(sameRange(conflict.range, rangeOf(doc, '`src/db/schema.ts`', 1)), `range ${JSON.stringify(conflict.range)}`);
    assert.match(conflict.message, /1\.1 and 1\.2 both touch src\/db\/schema\.ts/);
    const related = conflict.relatedInformation ?? [];
    assert.equal(related.length, 1);
    assert.equal(related[0]!.location.uri.toString(), uri.toString());
    assert.ok(sameRange(related[0]!.location.range, rangeOf(doc, '1.1')), 'points at the other task, 1.1');
  });

  test('an unknown dependency typed into the plan is reported, and cleared when fixed', async () => {
    await setText(PLAN);
    const line = doc.lineAt(rangeOf(doc, '2.2 Show').start.line);
    const edit = new vscode.WorkspaceEdit();
    edit.insert(uri, line.range.end, ' (depends: 1.9)');
    assert.ok(await vscode.workspace.applyEdit(edit));
    // How fast is measured by npm run bench:vscode; a test asserts the behaviour, not a time.
    const unknown = await until(
      'unknown-dependency',
      () => planDiagnostics(uri).find((d) => codeOf(d) === 'unknown-dependency'),
      5000,
    );
    assert.equal(unknown.severity, vscode.DiagnosticSeverity.Error);
    assert.ok(sameRange(unknown.range, rangeOf(doc, '1.9')), `range ${JSON.stringify(unknown.range)}`);

    const fix = new vscode.WorkspaceEdit();
    fix.replace(uri, rangeOf(doc, '1.9'), '2.1');
    assert.ok(await vscode.workspace.applyEdit(fix));
    await until('unknown-dependency to clear', () => !planDiagnostics(uri).some((d) => codeOf(d) === 'unknown-dependency'), 1000);
  });

  test('quick fixes for an unknown dependency: change to the suggestion, or remove it', async () => {
    const withTypo = PLAN.replace('- [ ] 2.2 Show the results', '- [ ] 2.2 Show the results (depends: 2.1, 1.33)');
    await setText(withTypo);
    await until('unknown-dependency', () => planDiagnostics(uri).some((d) => codeOf(d) === 'unknown-dependency'));
    const actions = await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, rangeOf(doc, '1.33'));
    // The command does not carry the linked diagnostics back; the titles are ours alone.
    const ours = actions.filter((x) => /^(Change to|Remove dependency)/.test(x.title));
    assert.deepEqual(ours.map((x) => x.title), ['Change to 1.3', 'Remove dependency 1.33']);
    assert.equal(ours[0]!.isPreferred, true);

    await applyAction(rangeOf(doc, '1.33'), 'Change to 1.3');
    assert.match(doc.getText(), /- \[ \] 2\.2 Show the results \(depends: 2\.1, 1\.3\)\n/);
    await until('unknown-dependency to clear', () => !planDiagnostics(uri).some((d) => codeOf(d) === 'unknown-dependency'), 1000);

    await setText(PLAN.replace('- [ ] 2.2 Show the results', '- [ ] 2.2 Show the results (depends: 1.33)'));
    await applyAction(rangeOf(doc, '1.33'), 'Remove dependency 1.33');
    assert.equal(doc.getText(), PLAN, 'the emptied (depends: …) is removed with the token');
  });

  test('quick fixes for a file conflict: add the dependency, or mark the task [SEQUENTIAL]', async () => {
    await setText(PLAN);
    const at = rangeOf(doc, 'src/db/schema.ts', 1);
    await until('file-conflict', () => planDiagnostics(uri).some((d) => codeOf(d) === 'file-conflict'));
    const titles = (await vscode.commands.executeCommand<vscode.CodeAction[]>('vscode.executeCodeActionProvider', uri, at)).map((x) => x.title);
    assert.ok(titles.includes('Add (depends: 1.1) to 1.2'), JSON.stringify(titles));
    assert.ok(titles.includes('Mark 1.2 [SEQUENTIAL]'), JSON.stringify(titles));

    await applyAction(at, 'Add (depends: 1.1) to 1.2');
    assert.match(doc.getText(), /- \[ \] 1\.2 Seed the data in `src\/db\/schema\.ts` \(depends: 1\.1\)\n/);
    await until('file-conflict to clear', () => !planDiagnostics(uri).some((d) => codeOf(d) === 'file-conflict'), 1000);

    await setText(PLAN);
    await until('file-conflict', () => planDiagnostics(uri).some((d) => codeOf(d) === 'file-conflict'));
    await applyAction(rangeOf(doc, 'src/db/schema.ts', 1), 'Mark 1.2 [SEQUENTIAL]');
    assert.match(doc.getText(), /- \[ \] 1\.2 Seed the data in `src\/db\/schema\.ts` \[SEQUENTIAL\]\n/);
    await until('file-conflict to clear', () => !planDiagnostics(uri).some((d) => codeOf(d) === 'file-conflict'), 1000);
  });

  test('quick fixes for a duplicate ID (renumber) and a self-dependency (remove)', async () => {
    await setText(PLAN.replace('- [ ] 1.3 Write the loader (depends: 1.1)', '- [ ] 1.3 Write the loader (depends: 1.1)\n- [ ] 1.2 Check the loader (depends: 1.1, 1.2)'));
    const dup = await until('duplicate-task-id', () => planDiagnostics(uri).find((d) => codeOf(d) === 'duplicate-task-id'));
    assert.ok(sameRange(dup.range, rangeOf(doc, '1.2', 1)));
    assert.ok(sameRange(dup.relatedInformation![0]!.location.range, rangeOf(doc, '1.2', 0)), 'related: the first 1.2');
    await applyAction(dup.range, 'Renumber to 1.4');
    assert.match(doc.getText(), /- \[ \] 1\.4 Check the loader \(depends: 1\.1, 1\.2\)\n/);
    await until('duplicate-task-id to clear', () => !planDiagnostics(uri).some((d) => codeOf(d) === 'duplicate-task-id'), 1000);

    await setText(PLAN.replace('(depends: 1.3, 1.1)', '(depends: 1.3, 2.1)'));
    const self = await until('self-dependency', () => planDiagnostics(uri).find((d) => codeOf(d) === 'self-dependency'));
    await applyAction(self.range, "Remove 2.1's dependency on itself");
    assert.match(doc.getText(), /- \[ \] 2\.1 Query the data \(depends: 1\.3\)\n/);
  });

  test('go to definition from a dependency lands on the task ID', async () => {
    await setText(PLAN);
    const ref = rangeOf(doc, '1.1', 2); // `(depends: 1.3, 1.1)` on 2.1
    const found = await vscode.commands.executeCommand<(vscode.Location | vscode.LocationLink)[]>('vscode.executeDefinitionProvider', uri, ref.start);
    const targets = found.map((l) => ('targetUri' in l ? { uri: l.targetUri, range: l.targetSelectionRange ?? l.targetRange } : l));
    assert.equal(targets.length, 1, JSON.stringify(targets));
    assert.equal(targets[0]!.uri.toString(), uri.toString());
    assert.ok(sameRange(targets[0]!.range, rangeOf(doc, '1.1', 0)), JSON.stringify(targets[0]!.range));
  });

  test('find references lists every dependency on a task, plus its definition', async () => {
    await setText(PLAN);
    const found = await vscode.commands.executeCommand<vscode.Location[]>('vscode.executeReferenceProvider', uri, rangeOf(doc, '1.1', 0).start);
    const ranges = found.filter((l) => l.uri.toString() === uri.toString()).map((l) => l.range);
    const expected = [rangeOf(doc, '1.1', 0), rangeOf(doc, '1.1', 1), rangeOf(doc, '1.1', 2)];
    assert.equal(ranges.length, 3, JSON.stringify(ranges));
    for (const r of expected) assert.ok(ranges.some((x) => sameRange(x, r)), `missing ${JSON.stringify(r)}`);
  });

  test('rename rewrites the ID and every reference; invalid or taken names are refused', async () => {
    await setText(PLAN);
    const edit = await vscode.commands.executeCommand<vscode.WorkspaceEdit>('vscode.executeDocumentRenameProvider', uri, rangeOf(doc, '1.1', 1).start, '1.7');
    assert.equal(edit.get(uri).length, 3);
    assert.ok(await vscode.workspace.applyEdit(edit));
    assert.equal(doc.getText(), PLAN.replace(/1\.1/g, '1.7'));

    await setText(PLAN);
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('vscode.executeDocumentRenameProvider', uri, rangeOf(doc, '1.1', 0).start, 'one')),
      /"one" is not a task ID/,
    );
    await assert.rejects(
      Promise.resolve(vscode.commands.executeCommand('vscode.executeDocumentRenameProvider', uri, rangeOf(doc, '1.1', 0).start, '2.2')),
      /2\.2 already exists/,
    );
  });

  test('the outline shows phases holding their tasks and VERIFY items, selected on the IDs', async () => {
    await setText(PLAN);
    const symbols = await vscode.commands.executeCommand<vscode.DocumentSymbol[]>('vscode.executeDocumentSymbolProvider', uri);
    const phases = symbols.filter((s) => s.kind === vscode.SymbolKind.Namespace);
    assert.deepEqual(phases.map((p) => p.name), ['Phase 1: Setup', 'Phase 2: Use']);
    const [p1, p2] = phases;
    assert.deepEqual(p1!.children.map((c) => c.name), ['1.1 Create the schema in src/db/schema.ts', '1.2 Seed the data in src/db/schema.ts', '1.3 Write the loader']);
    assert.ok(p1!.children.every((c) => c.kind === vscode.SymbolKind.Event));
    assert.ok(sameRange(p1!.children[0]!.selectionRange, rangeOf(doc, '1.1', 0)));
    assert.equal(p1!.children[0]!.range.start.line, rangeOf(doc, '1.1', 0).start.line);
    assert.deepEqual(p2!.children.map((c) => c.name), ['2.1 Query the data', '2.2 Show the results', 'Results appear']);
    assert.ok(p2!.range.contains(p2!.children[2]!.range));
  });

  test('hover on a dependency shows the task, its phase, state, dependencies and dependents', async () => {
    await setText(PLAN);
    const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', uri, rangeOf(doc, '1.1', 2).start);
    const text = hovers
      .flatMap((h) => h.contents)
      .map((c) => (typeof c === 'string' ? c : c.value))
      .join('\n');
    assert.match(text, /\*\*1\.1\*\* Create the schema in src\/db\/schema\.ts/);
    assert.match(text, /Phase 1: Setup/);
    assert.match(text, /pending — ready to start/);
    assert.match(text, /Depends on: —/);
    assert.match(text, /Needed by: [^\n]*1\.3/);
    assert.match(text, /Needed by: [^\n]*2\.1/);
  });

  test('plans that are not open get diagnostics from disk, cleared when fixed and when deleted', async () => {
    const closed = vscode.Uri.file(path.join(root(), 'docs', 'plans', 'closed.md'));
    const broken = '# Plan: Closed\n\n## Phase 1: A\n\n- [ ] 1.1 A (depends: 1.9)\n';
    await fs.writeFile(closed.fsPath, broken);
    try {
      const d = await until('unknown-dependency on the closed plan', () => planDiagnostics(closed).find((x) => codeOf(x) === 'unknown-dependency'));
      assert.deepEqual([d.range.start.line, d.range.start.character, d.range.end.character], [4, 22, 25]);
      await fs.writeFile(closed.fsPath, broken.replace(' (depends: 1.9)', ''));
      await until('the fixed plan to have no errors', () => planDiagnostics(closed).length === 0);
      await fs.writeFile(closed.fsPath, broken);
      await until('the error again', () => planDiagnostics(closed).length === 1);
    } finally {
      await fs.rm(closed.fsPath, { force: true });
    }
    await until('diagnostics of the deleted plan to be cleared', () => planDiagnostics(closed).length === 0);
  });

  test('markdown that is not a plan gets no plan diagnostics or features', async () => {
    const notes = vscode.Uri.file(path.join(root(), 'notes', 'ideas.md'));
    await fs.mkdir(path.dirname(notes.fsPath), { recursive: true });
    await fs.writeFile(notes.fsPath, '# Ideas\n\n## Phase 1: A\n\n- [ ] 1.1 A (depends: 1.9)\n- [ ] 1.1 B\n');
    try {
      const other = await vscode.workspace.openTextDocument(notes);
      assert.equal(a.workspace.isPlanDocument(other), false);
      await new Promise((r) => setTimeout(r, 500));
      assert.deepEqual(planDiagnostics(notes), []);
      const hovers = await vscode.commands.executeCommand<vscode.Hover[]>('vscode.executeHoverProvider', notes, new vscode.Position(4, 23));
      const text = hovers.flatMap((h) => h.contents).map((c) => (typeof c === 'string' ? c : c.value)).join('\n');
      assert.doesNotMatch(text, /not a task in this plan|Needed by/);
    } finally {
      await fs.rm(path.dirname(notes.fsPath), { recursive: true, force: true });
    }
  });
});
