/**
 * The logs of the mock API, in memory: what a real orchestrator and its agents would have written to
 * `orchestrator-<plan>.log` and `logs/<task>.log`, and streams that follow them as FollowStream
 * follows a file (what is there, then every line appended, until the reader goes away).
 */
import { Readable } from 'node:stream';

/** Enough to scroll back through one run; the oldest lines go first. */
const MAX_LINES = 2000;

export class MockLogs {
  private readonly lines = new Map<string, string[]>();
  private readonly followers = new Map<string, Set<Readable>>();

  append(key: string, line: string): void {
    let lines = this.lines.get(key);
    if (!lines) this.lines.set(key, (lines = []));
    lines.push(line);
    if (lines.length > MAX_LINES) lines.splice(0, lines.length - MAX_LINES);
    for (const f of this.followers.get(key) ?? []) f.push(`${line}\n`);
  }

  has(key: string): boolean {
    return (this.lines.get(key)?.length ?? 0) > 0;
  }

  read(key: string): Readable {
    return Readable.from([this.text(key)]);
  }

  /** Never ends by itself; destroying it (the client went away) stops it. */
  follow(key: string): Readable {
    const stream = new Readable({ read() {} });
    let set = this.followers.get(key);
    if (!set) this.followers.set(key, (set = new Set()));
    set.add(stream);
    stream.on('close', () => set.delete(stream));
    const text = this.text(key);
    if (text) stream.push(text);
    return stream;
  }

  close(): void {
    for (const set of this.followers.values()) for (const f of set) f.destroy();
    this.followers.clear();
  }

  private text(key: string): string {
    const lines = this.lines.get(key) ?? [];
    return lines.length ? `${lines.join('\n')}\n` : '';
  }
}
