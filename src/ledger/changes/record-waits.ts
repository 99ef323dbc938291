/**
 * How long completing a job waits for the records of its calls still in flight before settling
 * them from their holds: long enough for a stream that just ended (or was abandoned) to be
 * recorded, short enough for a completion to answer promptly.
 */
export const COMPLETION_RECORD_WAIT_MS = 5_000;

/**
 * Completions waiting, inside the team's object, for calls of their job to be recorded. In the
 * object's memory: a restarted object has no waiters, and no call of its own in flight yet.
 */
export class RecordWaits {
  private readonly waiting = new Map<string, Set<() => void>>();

  /** Resolves once `done()` is true (checked after each record of the job), or after `ms`. */
  async until(jobId: string, done: () => boolean, ms: number): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | null = null;
    const timedOut = new Promise<"timeout">((resolve) => {
      timer = setTimeout(() => resolve("timeout"), ms);
    });
    try {
      while (!done()) {
        let wake: () => void = () => {};
        const woken = new Promise<"recorded">((resolve) => {
          wake = () => resolve("recorded");
        });
        const set = this.waiting.get(jobId) ?? new Set();
        set.add(wake);
        this.waiting.set(jobId, set);
        const outcome = await Promise.race([woken, timedOut]);
        set.delete(wake);
        if (set.size === 0) this.waiting.delete(jobId);
        if (outcome === "timeout") return;
      }
    } finally {
      if (timer !== null) clearTimeout(timer);
    }
  }

  /** How many completions are waiting now. */
  pending(): number {
    let count = 0;
    for (const set of this.waiting.values()) count += set.size;
    return count;
  }

  /** A call of the job was recorded: its waiters check again. */
  recorded(jobId: string): void {
    for (const wake of this.waiting.get(jobId) ?? []) wake();
  }
}
