// Attempt timeouts on the system clock, batched per duration: the per-request
// setTimeout/clearTimeout pair was a measurable part of a request's own cost.

/** The longest delay setTimeout takes as it is (2^31 − 1 ms). */
const MAX_TIMER = 2 ** 31 - 1;

/** One pending timeout of {@link TimeoutList}. */
export class TimeoutEntry {
  readonly at: number;
  readonly fire: () => void;
  readonly list: TimeoutList;
  prev: TimeoutEntry | undefined;
  next: TimeoutEntry | undefined;
  constructor(at: number, fire: () => void, list: TimeoutList) {
    this.at = at;
    this.fire = fire;
    this.list = list;
  }

  cancel(): void {
    this.list.remove(this);
  }
}

/**
 * The pending attempt timeouts of one duration on the system clock. Timeouts of equal
 * duration expire in the order they were set, so they queue first in, first out behind
 * one real timer armed for the oldest: an attempt costs a small entry, not a
 * setTimeout/clearTimeout pair. A timeout never fires early (the head is re-checked
 * against performance.now()); the real timer is cleared as soon as the list is empty, so
 * nothing keeps the process alive once no request is pending.
 */
class TimeoutList {
  readonly #ms: number;
  readonly #lists: Map<number, TimeoutList>;
  #head: TimeoutEntry | undefined;
  #tail: TimeoutEntry | undefined;
  #timer: ReturnType<typeof setTimeout> | undefined;

  constructor(ms: number, lists: Map<number, TimeoutList>) {
    this.#ms = ms;
    this.#lists = lists;
  }

  add(fire: () => void): TimeoutEntry {
    const entry = new TimeoutEntry(performance.now() + this.#ms, fire, this);
    const tail = this.#tail;
    if (tail === undefined) this.#head = entry;
    else {
      tail.next = entry;
      entry.prev = tail;
    }
    this.#tail = entry;
    if (this.#timer === undefined) this.#arm(this.#ms);
    return entry;
  }

  remove(entry: TimeoutEntry): void {
    const { prev, next } = entry;
    if (prev === undefined) {
      if (this.#head !== entry) return; // already fired or removed
      this.#head = next;
    } else prev.next = next;
    if (next === undefined) this.#tail = prev;
    else next.prev = prev;
    entry.prev = entry.next = undefined;
    if (this.#head === undefined) this.#close();
  }

  #arm(ms: number): void {
    // Past setTimeout's limit a timer fires at once; #expire re-arms until the head is due.
    this.#timer = setTimeout(() => this.#expire(), Math.min(ms, MAX_TIMER));
  }

  #close(): void {
    if (this.#timer !== undefined) clearTimeout(this.#timer);
    this.#timer = undefined;
    if (this.#lists.get(this.#ms) === this) this.#lists.delete(this.#ms);
  }

  #expire(): void {
    this.#timer = undefined;
    try {
      for (let head = this.#head; head !== undefined; head = this.#head) {
        if (head.at > performance.now()) break;
        this.remove(head);
        head.fire();
      }
    } finally {
      // Re-armed for the next one even if a callback threw.
      const head = this.#head;
      if (head !== undefined && this.#timer === undefined) {
        this.#arm(Math.max(1, Math.ceil(head.at - performance.now())));
      }
    }
  }
}

/** Timeouts on the system clock, one {@link TimeoutList} per duration in use. */
export class Timeouts {
  readonly #lists = new Map<number, TimeoutList>();

  /** Calls `fire` after `ms` ms (never earlier, by performance.now()); cancel the entry to stop it. */
  add(ms: number, fire: () => void): TimeoutEntry {
    let list = this.#lists.get(ms);
    if (list === undefined) {
      list = new TimeoutList(ms, this.#lists);
      this.#lists.set(ms, list);
    }
    return list.add(fire);
  }

  /** How many durations have timeouts pending (each with one real timer): 0 when idle. */
  get armed(): number {
    return this.#lists.size;
  }
}

/** The attempt timeouts of every client on the system clock. */
export const systemTimeouts: Timeouts = new Timeouts();
