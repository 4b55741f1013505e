/**
 * Show Agent Output: a task's agent log as a read-only document that follows the log as it grows.
 * Structured agents (Claude Code, Codex) print one JSON event per line; the document shows what their
 * adapter's reader makes of each line (the same activity the tree shows), and any other line as it is,
 * so the transcript reads like the agent's terminal would.
 */
import * as vscode from 'vscode';
import path from 'node:path';
import { promises as fs, watchFile, unwatchFile, type StatsListener } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';
import { adapterFor, isAgentKind, type AgentEvent, type AgentOutputReader } from '../run/agents/index.js';

export const AGENT_OUTPUT_SCHEME = 'plan-agent-output';

interface Followed {
  logPath: string;
  reader?: AgentOutputReader;
  /** Bytes of the log read so far, and what they rendered to. */
  offset: number;
  text: string;
  /** A line cut by the end of the last read, kept for the next one. */
  partial: string;
  /** Keeps a character whose UTF-8 bytes are split across two reads whole. */
  decoder: StringDecoder;
  /** Reads in order, one at a time: two at once would both read from the same offset. */
  reading: Promise<void>;
  /** This document's own poll of the file (another document may follow the same log). */
  listener?: StatsListener;
}

function render(e: AgentEvent): string | undefined {
  switch (e.type) {
    case 'activity':
      return `▸ ${e.text}`;
    case 'denied':
      return `⚠ denied: ${e.denial.tool} ${e.denial.input} (rule ${e.denial.rule})`;
    case 'result':
      return `■ ${e.isError ? 'ended with an error' : 'finished'}${'message' in e && e.message ? `: ${String(e.message)}` : ''}`;
    case 'session':
      return `session ${e.sessionId}${e.model ? ` · ${e.model}` : ''}`;
    default:
      return undefined;
  }
}

export class AgentOutputDocuments implements vscode.TextDocumentContentProvider, vscode.Disposable {
  private readonly emitter = new vscode.EventEmitter<vscode.Uri>();
  readonly onDidChange = this.emitter.event;
  private readonly followed = new Map<string, Followed>();
  private readonly disposables: vscode.Disposable[] = [];

  constructor() {
    this.disposables.push(
      this.emitter,
      vscode.workspace.registerTextDocumentContentProvider(AGENT_OUTPUT_SCHEME, this),
      // Nobody reads it any more: stop following the file.
      vscode.workspace.onDidCloseTextDocument((d) => {
        if (d.uri.scheme === AGENT_OUTPUT_SCHEME) this.unfollow(d.uri);
      }),
      // Follows like `tail -f`: the editors showing it scroll to what was just added.
      vscode.workspace.onDidChangeTextDocument((e) => {
        if (e.document.uri.scheme !== AGENT_OUTPUT_SCHEME) return;
        for (const editor of vscode.window.visibleTextEditors) if (editor.document === e.document) this.revealEnd(editor);
      }),
    );
  }

  /** The document of a task's log: `plan-agent-output:/<log path>?kind=claude&root=<worktree>#<task>`. */
  uriFor(logPath: string, kind: string | undefined, root: string, taskId: string): vscode.Uri {
    const query = new URLSearchParams({ kind: kind ?? '', root }).toString();
    return vscode.Uri.from({ scheme: AGENT_OUTPUT_SCHEME, path: logPath, query, fragment: taskId });
  }

  async show(logPath: string, kind: string | undefined, root: string, taskId: string): Promise<vscode.TextEditor> {
    const uri = this.uriFor(logPath, kind, root, taskId);
    const document = await vscode.workspace.openTextDocument(uri);
    const editor = await vscode.window.showTextDocument(document, { preview: true });
    this.revealEnd(editor);
    return editor;
  }

  async provideTextDocumentContent(uri: vscode.Uri): Promise<string> {
    const f = this.state(uri);
    f.reading = f.reading.then(() => this.readMore(f));
    await f.reading;
    if (!f.listener) {
      // Polled rather than fs.watch: the log is appended to by another process, often in a worktree.
      f.listener = (cur, prev) => {
        if (cur.size !== prev.size || cur.mtimeMs !== prev.mtimeMs) this.emitter.fire(uri);
      };
      watchFile(f.logPath, { interval: 500 }, f.listener);
    }
    return f.text || `(the agent of ${uri.fragment} has not printed anything yet)\n`;
  }

  private state(uri: vscode.Uri): Followed {
    const key = uri.toString();
    let f = this.followed.get(key);
    if (!f) {
      const q = new URLSearchParams(uri.query);
      const kind = q.get('kind') ?? '';
      f = { logPath: uri.path, offset: 0, text: '', partial: '', decoder: new StringDecoder('utf8'), reading: Promise.resolve(), reader: isAgentKind(kind) ? adapterFor(kind).reader(q.get('root') ?? path.dirname(uri.path)) : undefined };
      this.followed.set(key, f);
    }
    return f;
  }

  /** Reads only what was appended since the last read. */
  private async readMore(f: Followed): Promise<void> {
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(f.logPath, 'r');
      const { size } = await handle.stat();
      if (size < f.offset) {
        // Rewritten from the start (a new run of the log): read it again.
        Object.assign(f, { offset: 0, text: '', partial: '', decoder: new StringDecoder('utf8') });
      }
      if (size === f.offset) return;
      const buffer = Buffer.alloc(size - f.offset);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, f.offset);
      f.offset += bytesRead;
      const lines = (f.partial + f.decoder.write(buffer.subarray(0, bytesRead))).split('\n');
      f.partial = lines.pop() ?? '';
      const out: string[] = [];
      for (const line of lines) {
        const events = f.reader && line.trimStart().startsWith('{') ? f.reader.line(line) : undefined;
        if (events === undefined) out.push(line);
        else for (const e of events) {
          const text = render(e);
          if (text) out.push(text);
        }
      }
      if (out.length) f.text += `${out.join('\n')}\n`;
    } catch (e) {
      // Not there yet (the agent has not started), or gone: the document says so instead of failing.
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT') f.text += `(cannot read ${f.logPath}: ${e instanceof Error ? e.message : String(e)})\n`;
    } finally {
      await handle?.close();
    }
  }

  private revealEnd(editor: vscode.TextEditor): void {
    const last = editor.document.lineCount - 1;
    editor.revealRange(new vscode.Range(last, 0, last, 0), vscode.TextEditorRevealType.Default);
  }

  private unfollow(uri: vscode.Uri): void {
    const f = this.followed.get(uri.toString());
    if (!f) return;
    if (f.listener) unwatchFile(f.logPath, f.listener);
    this.followed.delete(uri.toString());
  }

  dispose(): void {
    for (const f of this.followed.values()) if (f.listener) unwatchFile(f.logPath, f.listener);
    this.followed.clear();
    for (const d of this.disposables) d.dispose();
  }
}
