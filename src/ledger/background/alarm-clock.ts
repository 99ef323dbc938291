/**
 * The object's one alarm, shared by everything it schedules (job expiry, usage sends): it is
 * only ever moved earlier by work, and set to the earliest next due time when it has run.
 * Remembers the time it last set, so a burst of calls skips the storage round trip.
 */
export class AlarmClock {
  private setForMs: number | null = null;

  constructor(private readonly storage: DurableObjectStorage) {}

  /** Sets the alarm to `atMs` unless it is already set earlier. */
  async moveEarlier(atMs: number): Promise<void> {
    if (this.setForMs !== null && this.setForMs <= atMs && this.setForMs > Date.now()) return;
    const current = await this.storage.getAlarm();
    if (current === null || current > atMs) await this.storage.setAlarm(atMs);
    this.setForMs = Math.min(current ?? atMs, atMs);
  }

  /** After the alarm ran: the earliest of the next due times (null: nothing due, no alarm). */
  async setNext(dueTimes: Array<number | null>): Promise<void> {
    const due = dueTimes.filter((t) => t !== null);
    this.setForMs = due.length > 0 ? Math.min(...due) : null;
    if (this.setForMs !== null) await this.storage.setAlarm(this.setForMs);
  }

  async clear(): Promise<void> {
    await this.storage.deleteAlarm();
    this.setForMs = null;
  }
}
