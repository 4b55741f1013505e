/**
 * A log file as a stream that keeps going: what the file holds, then every byte appended to it, until
 * the reader goes away. fs.watch on the folder wakes it at once; a poll covers a file that does not
 * exist yet (the orchestrator has not written its first line) and watchers that miss events.
 */
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import path from 'node:path';
import { Readable } from 'node:stream';

const CHUNK = 64 * 1024;

export class FollowStream extends Readable {
  private offset = 0;
  private reading = false;
  private again = false;
  private wantMore = true;
  private watcher: FSWatcher | undefined;
  private readonly timer: NodeJS.Timeout;
  private fh: FileHandle | undefined;

  constructor(
    private readonly file: string,
    pollMs = 250,
  ) {
    super();
    try {
      this.watcher = watch(path.dirname(file), { persistent: false }, (_e, name) => {
        if (name === null || name.toString() === path.basename(file)) this.pump();
      });
      this.watcher.on('error', () => this.watcher?.close());
    } catch {
      // The folder does not exist yet: the poll alone.
    }
    this.timer = setInterval(() => this.pump(), pollMs);
    this.timer.unref();
    this.pump();
  }

  override _read(): void {
    this.wantMore = true;
    this.pump();
  }

  /** One read loop at a time; a wake-up during a loop runs it once more. */
  private pump(): void {
    if (this.destroyed) return;
    if (this.reading) {
      this.again = true;
      return;
    }
    this.reading = true;
    void this.readAvailable()
      .catch((err: unknown) => this.destroy(err as Error))
      .finally(() => {
        this.reading = false;
        if (this.again && !this.destroyed) {
          this.again = false;
          this.pump();
        }
      });
  }

  private async readAvailable(): Promise<void> {
    let size: number;
    try {
      size = (await stat(this.file)).size;
    } catch {
      return;
    }
    if (size < this.offset) {
      // Truncated or replaced: start over rather than wait for it to grow past the old end.
      this.offset = 0;
      await this.fh?.close();
      this.fh = undefined;
    }
    if (!this.fh) {
      const fh = await open(this.file, 'r');
      // Destroyed while opening: nobody else would close it.
      if (this.destroyed) return void (await fh.close());
      this.fh = fh;
    }
    while (this.wantMore && this.offset < size && !this.destroyed) {
      const buf = Buffer.alloc(Math.min(CHUNK, size - this.offset));
      const { bytesRead } = await this.fh.read(buf, 0, buf.length, this.offset);
      if (bytesRead === 0) break;
      this.offset += bytesRead;
      // Respect the reader: stop when its buffer is full; _read() asks again.
      this.wantMore = this.push(buf.subarray(0, bytesRead));
    }
  }

  override _destroy(err: Error | null, callback: (error?: Error | null) => void): void {
    clearInterval(this.timer);
    this.watcher?.close();
    const fh = this.fh;
    this.fh = undefined;
    void (fh ? fh.close() : Promise.resolve()).then(
      () => callback(err),
      () => callback(err),
    );
  }
}
