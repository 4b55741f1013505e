// Installs the built .vsix into a throwaway code-server extensions folder and checks that code-server
// lists it: the package a user would install, not the development folder. Usage: node scripts/install-vsix.mjs [file.vsix]
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { codeServerEntry } from '../test/vscode/codeServer.mjs';

const vsix = path.resolve(process.argv[2] ?? 'plan-orchestrator.vsix');
if (!existsSync(vsix)) {
  console.error(`install-vsix: ${vsix} does not exist (run npm run package)`);
  process.exit(2);
}
const dir = mkdtempSync(path.join(os.tmpdir(), 'plan-orchestrator-vsix-'));
try {
  const run = (...args) =>
    execFileSync(process.execPath, [codeServerEntry(), '--user-data-dir', path.join(dir, 'user'), '--extensions-dir', path.join(dir, 'ext'), ...args], {
      encoding: 'utf8',
      env: { ...process.env, XDG_CONFIG_HOME: path.join(dir, 'config'), XDG_DATA_HOME: path.join(dir, 'data'), XDG_CACHE_HOME: path.join(dir, 'cache') },
    });
  run('--install-extension', vsix);
  const listed = run('--list-extensions', '--show-versions');
  if (!/^plan-orchestrator\.plan-orchestrator@/m.test(listed)) {
    console.error(`install-vsix: code-server does not list the extension after installing ${path.basename(vsix)}:\n${listed}`);
    process.exit(1);
  }
  const installed = path.join(dir, 'ext', `plan-orchestrator.plan-orchestrator-${listed.match(/@(\S+)/)[1]}`);
  for (const file of ['dist/extension.cjs', 'dist/planctl.mjs', 'media/schedule.js', 'package.json']) {
    if (!existsSync(path.join(installed, file))) {
      console.error(`install-vsix: ${file} is missing from the installed extension`);
      process.exit(1);
    }
  }
  execFileSync(process.execPath, [path.join(installed, 'dist/planctl.mjs'), '--version'], { stdio: 'ignore' });
  console.log(`installed ${path.basename(vsix)} into code-server: ${listed.trim()}`);
} finally {
  rmSync(dir, { recursive: true, force: true });
}
