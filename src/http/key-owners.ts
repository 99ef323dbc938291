// Which team a key hash belongs to, remembered in the isolate's memory. A key hash is issued to
// one team and never moves, so this cannot go stale in a way that grants anything: whether the
// key is still good (rotation, grace period, revocation, team deletion) is decided by the
// team's object on every request. Bounded: the least recently used entry goes first.

const CAPACITY = 4096;

export class KeyOwners {
  private readonly owners = new Map<string, string>();

  constructor(private readonly capacity = CAPACITY) {}

  get(keyHash: string): string | undefined {
    const teamId = this.owners.get(keyHash);
    if (teamId !== undefined) {
      // Map keeps insertion order: re-inserting makes this the most recently used.
      this.owners.delete(keyHash);
      this.owners.set(keyHash, teamId);
    }
    return teamId;
  }

  set(keyHash: string, teamId: string): void {
    this.owners.delete(keyHash);
    this.owners.set(keyHash, teamId);
    if (this.owners.size > this.capacity) this.owners.delete(this.owners.keys().next().value!);
  }

  get size(): number {
    return this.owners.size;
  }
}

/** The isolate's one cache, shared by every request it serves. */
export const keyOwners = new KeyOwners();
