/**
 * Plan: Start API Server runs the bundled `planctl serve` next to the extension host: the URL it
 * reports answers on loopback with the token from its 0600 token file, and Stop ends the process.
 */
import * as assert from 'node:assert/strict';
import * as vscode from 'vscode';
import path from 'node:path';
import { promises as fs } from 'node:fs';
import { api, root, until } from './helpers.js';

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

suite('Plan API server', () => {
  test('start serves the plans on 127.0.0.1 behind the token; the status bar item has the URL; stop ends it', async function () {
    this.timeout(60_000);
    const ext = await api();
    // A free port: 3100 may be taken on the machine running the tests.
    await vscode.workspace.getConfiguration('planOrchestrator').update('apiPort', 0, vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('planOrchestrator.setActivePlan', vscode.Uri.file(path.join(root(), 'docs', 'plans', 'alpha.md')));

    const started = (await vscode.commands.executeCommand('planOrchestrator.startApiServer')) as { url: string; tokenFile: string; pid: number } | undefined;
    assert.ok(started, 'the command returns the server it started');
    assert.match(started.url, /^http:\/\/127\.0\.0\.1:\d+$/);
    assert.equal(ext.apiServer.state?.url, started.url);
    assert.ok(alive(started.pid));
    // A second start returns the running server instead of starting another.
    const again = (await vscode.commands.executeCommand('planOrchestrator.startApiServer')) as { pid: number };
    assert.equal(again.pid, started.pid);

    assert.equal((await fs.stat(started.tokenFile)).mode & 0o777, 0o600);
    const token = (await fs.readFile(started.tokenFile, 'utf8')).trim();
    assert.equal((await fetch(`${started.url}/api/plans`)).status, 401, 'no token, no answer');
    const res = await fetch(`${started.url}/api/plans`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    const body = (await res.json()) as { plans: Array<{ plan: string; total: number }> };
    const alpha = body.plans.find((p) => p.plan.endsWith('alpha.md'));
    assert.ok(alpha, `alpha is listed: ${JSON.stringify(body)}`);
    assert.ok(alpha.total > 0);

    // Open Dashboard in Browser's link: it signs a browser in once (a session cookie), then never again.
    const link = await ext.apiServer.loginLink();
    assert.ok(link.startsWith(`${started.url}/login?code=`), link);
    const login = await fetch(link, { redirect: 'manual' });
    assert.equal(login.status, 303);
    assert.match(login.headers.get('set-cookie') ?? '', /HttpOnly; SameSite=Strict/);
    assert.equal((await fetch(link, { redirect: 'manual' })).status, 410, 'a login link works once');

    await vscode.commands.executeCommand('planOrchestrator.stopApiServer');
    assert.equal(ext.apiServer.state, undefined);
    await until('the server process has ended', () => !alive(started.pid), 5000);
    await assert.rejects(fetch(`${started.url}/api/plans`, { headers: { authorization: `Bearer ${token}` } }));
  });
});
