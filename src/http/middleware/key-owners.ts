import type { TeamAddress } from "../../ledger/client";

// Which team a key hash belongs to, and where that team's object is (its jurisdiction, part of
// its address), remembered in the isolate's memory. A key hash is issued to one team and never
// moves, nor does a team's object, so this cannot go stale in a way that grants anything: whether the
// key is still good (rotation, grace period, revocation, team deletion) is decided by the
// team's object on every request. Bounded: the least recently used entry goes first.
//
// Keys nobody was issued are remembered too, for a few seconds, so that a client spraying
// made-up keys costs one D1 read per key and window, not one per request. That cannot hide a
// new key: a key is random and shown only once it is stored, so it cannot be presented (and
// remembered as unknown) before its team knows it.

const CAPACITY = 4096;
const UNKNOWN_FOR_MS = 10_000;

export class KeyOwners {
  private readonly owners = new Map<string, TeamAddress>();

  constructor(private readonly capacity = CAPACITY) {}

  get(keyHash: string): TeamAddress | undefined {
    const owner = this.owners.get(keyHash);
    if (owner !== undefined) {
      // Map keeps insertion order: re-inserting makes this the most recently used.
      this.owners.delete(keyHash);
      this.owners.set(keyHash, owner);
    }
    return owner;
  }

  set(keyHash: string, owner: TeamAddress): void {
    this.owners.delete(keyHash);
    this.owners.set(keyHash, owner);
    if (this.owners.size > this.capacity) this.owners.delete(this.owners.keys().next().value!);
  }

  get size(): number {
    return this.owners.size;
  }
}

/** Key hashes that belong to nobody, each remembered for a short while (bounded the same way). */
export class UnknownKeys {
  private readonly until = new Map<string, number>();

  constructor(
    private readonly capacity = CAPACITY,
    private readonly forMs = UNKNOWN_FOR_MS,
  ) {}

  has(keyHash: string, now = Date.now()): boolean {
    const until = this.until.get(keyHash);
    if (until === undefined) return false;
    if (until > now) return true;
    this.until.delete(keyHash);
    return false;
  }

  add(keyHash: string, now = Date.now()): void {
    this.until.delete(keyHash);
    this.until.set(keyHash, now + this.forMs);
    if (this.until.size > this.capacity) this.until.delete(this.until.keys().next().value!);
  }
}

/** The isolate's one cache, shared by every request it serves. */
export const keyOwners = new KeyOwners();
export const unknownKeys = new UnknownKeys();
