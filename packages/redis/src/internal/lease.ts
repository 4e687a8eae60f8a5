import { LeaseLostError } from '../errors.ts';

/**
 * Stops a lease's renewals (released, acked…); its signal stays as it is. A function, not
 * a method: a subclass handed to users (a semaphore's permit) then has no `stop()` that
 * would silently end its renewals.
 */
export let stopLease: (lease: Lease) => void;
// Renews a lease now (for Renewals, when its renewal is due).
let renewLeaseNow: (lease: Lease) => void;

/**
 * Keeps a lease alive: renews it every third of its length, and aborts `signal` with
 * {@link LeaseLostError} when Redis says it is gone or when no renewal was confirmed before
 * it may have expired. "Confirmed until" is counted from when the confirming command was
 * sent, so a slow reply or a paused process errs on the safe side.
 *
 * A subclass may override `renew()` and `describe()` instead of passing them (a semaphore's
 * permit does: one object per permit, no closures).
 */
export class Lease {
  // Made when `signal` is first read (or the lease is lost): most holders never look.
  #controller: AbortController | undefined;
  readonly #ms: number;
  readonly #renew: (() => Promise<boolean>) | undefined;
  readonly #what: string;
  // `performance.now()` when the command behind the last confirmation was sent.
  #confirmedAt: number;
  #renewTimer: ReturnType<typeof setTimeout> | undefined;
  // The timer shared with other leases of the same length, if any (instead of #renewTimer).
  readonly #renewals: Renewals | undefined;
  // Armed only while a renewal is due and not confirmed: one timer per lease otherwise.
  #expiryTimer: ReturnType<typeof setTimeout> | undefined;
  #stopped = false;

  /**
   * `sentAt`: `performance.now()` when the command that granted the lease was sent.
   * `what` names the lease in errors; `renew` asks Redis to extend it (`false`: gone).
   * `renewals`: a timer shared by leases of this same length (else one timer per lease).
   */
  constructor(
    what: string,
    ms: number,
    sentAt: number,
    renew?: () => Promise<boolean>,
    renewals?: Renewals,
  ) {
    this.#what = what;
    this.#ms = ms;
    this.#renew = renew;
    this.#renewals = renewals;
    this.#confirmedAt = sentAt;
    this.#scheduleRenew();
  }

  /** Asks Redis to extend the lease: `true` if it did, `false` if the lease is gone. */
  protected renew(): Promise<boolean> {
    if (this.#renew === undefined) return Promise.reject(new TypeError('no renew function'));
    return this.#renew();
  }

  /** What the lease is, for the `LeaseLostError` message. */
  protected describe(): string {
    return this.#what;
  }

  get signal(): AbortSignal {
    this.#controller ??= new AbortController();
    return this.#controller.signal;
  }

  static {
    stopLease = (lease) => lease.#stop();
    renewLeaseNow = (lease) => lease.#renewNow();
  }

  // Stops renewing (released, acked…). The signal stays as it is.
  #stop(): void {
    this.#stopped = true;
    this.#renewals?.delete(this);
    clearTimeout(this.#renewTimer);
    clearTimeout(this.#expiryTimer);
    this.#renewTimer = this.#expiryTimer = undefined;
  }

  // Renews now (for Renewals, when this lease's renewal is due).
  #renewNow(): void {
    if (!this.#stopped) void this.#renewOnce();
  }

  #scheduleRenew(): void {
    if (this.#renewals !== undefined) {
      this.#renewals.add(this, performance.now() + Math.max(1, Math.floor(this.#ms / 3)));
      return;
    }
    this.#renewTimer = setTimeout(
      () => {
        this.#renewTimer = undefined;
        void this.#renewOnce();
      },
      Math.max(1, Math.floor(this.#ms / 3)),
    );
  }

  // The lease ends `ms` after the last confirmation unless a renewal confirms it first.
  #armExpiry(): boolean {
    clearTimeout(this.#expiryTimer);
    const left = this.#confirmedAt + this.#ms - performance.now();
    if (left <= 0) {
      this.#lose(`${this.describe()}: its lease of ${this.#ms} ms could not be renewed in time`);
      return false;
    }
    this.#expiryTimer = setTimeout(() => {
      this.#lose(`${this.describe()}: its lease of ${this.#ms} ms could not be renewed in time`);
    }, left);
    return true;
  }

  async #renewOnce(): Promise<void> {
    // A process paused past the lease (GC, SIGSTOP) finds it over before asking.
    if (!this.#armExpiry()) return;
    const sentAt = performance.now();
    let held: boolean | undefined;
    try {
      held = await this.renew();
    } catch {
      // Redis unreachable: try again next period; the armed expiry timer decides.
    }
    if (this.#stopped) return;
    if (held === false) {
      this.#lose(
        `${this.describe()}: Redis no longer holds its lease (it expired or was taken over)`,
      );
      return;
    }
    if (held === true) {
      // A confirmation that arrives after the lease it confirms ran out confirms nothing.
      if (performance.now() >= sentAt + this.#ms) {
        this.#lose(`${this.describe()}: its lease of ${this.#ms} ms could not be renewed in time`);
        return;
      }
      this.#confirmedAt = sentAt;
      clearTimeout(this.#expiryTimer);
      this.#expiryTimer = undefined;
    }
    this.#scheduleRenew();
  }

  #lose(message: string): void {
    if (this.#stopped) return;
    this.#stop();
    this.#controller ??= new AbortController();
    this.#controller.abort(new LeaseLostError(message));
  }
}

/**
 * One renewal timer for many leases of the same length (a semaphore's permits): armed for
 * the earliest renewal due, and left armed when the last lease stops, unreferenced (it
 * keeps no process alive; when it fires with nothing due it is not armed again). Holding
 * and releasing permits one after the other then costs no timer at all, where a timer per
 * lease costs a `setTimeout` and a `clearTimeout` each. Referenced while any lease is
 * held, as a lease's own timer would be.
 */
export class Renewals {
  // Each lease with the `performance.now()` at which its renewal is due, in the order
  // they were added (a Map keeps insertion order).
  readonly #due = new Map<Lease, number>();
  // The latest due time added, and whether every lease was added with a due time no
  // earlier than the one before: leases of one length renewed as their confirmations
  // come are, so #due's order is then the order in which they fall due, and a firing
  // stops at the first lease not yet due (O(due), not O(held)). Any lease added out of
  // order turns that off until no lease is left.
  #latest = Number.NEGATIVE_INFINITY;
  #ordered = true;
  #timer: ReturnType<typeof setTimeout> | undefined;
  #timerAt = Number.POSITIVE_INFINITY;
  #referenced = false;

  /** Whether the timer is armed and keeps the process alive (some lease is held). */
  get referenced(): boolean {
    return this.#timer !== undefined && this.#referenced;
  }

  /** Whether the leases are held in the order they fall due (for tests). */
  get ordered(): boolean {
    return this.#ordered;
  }

  /** Renews `lease` at `at` (`performance.now()` scale). */
  add(lease: Lease, at: number): void {
    // Deleted first, so that a lease added again moves to the end.
    this.#due.delete(lease);
    this.#due.set(lease, at);
    if (at >= this.#latest) this.#latest = at;
    else this.#ordered = false;
    if (this.#timer === undefined || at < this.#timerAt) this.#arm(at);
    else if (!this.#referenced) this.#reference(true);
  }

  /** Forgets `lease` (stopped). */
  delete(lease: Lease): void {
    if (this.#due.delete(lease) && this.#due.size === 0) this.#reset();
  }

  #reset(): void {
    this.#latest = Number.NEGATIVE_INFINITY;
    this.#ordered = true;
    this.#reference(false);
  }

  #arm(at: number): void {
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(this.#fire, Math.max(1, at - performance.now()));
    this.#referenced = true;
  }

  #reference(on: boolean): void {
    this.#referenced = on;
    setReferenced(this.#timer, on);
  }

  readonly #fire = (): void => {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    const now = performance.now();
    let next = Number.POSITIVE_INFINITY;
    // A renewal adds its lease back only after Redis replied: never during this loop.
    for (const [lease, at] of this.#due) {
      if (at <= now + 1) {
        this.#due.delete(lease);
        renewLeaseNow(lease);
      } else {
        if (at < next) next = at;
        if (this.#ordered) break;
      }
    }
    if (next !== Number.POSITIVE_INFINITY) this.#arm(next);
    else if (this.#due.size === 0) this.#reset();
  };
}

// Whether a timer keeps the process alive: Node's and Bun's timers are objects with
// `ref()`/`unref()`; Deno's web timers are numbers, with `Deno.refTimer`/`unrefTimer`.
function setReferenced(timer: ReturnType<typeof setTimeout> | undefined, on: boolean): void {
  if (timer === undefined) return;
  if (typeof timer === 'object' && timer !== null) {
    const t = timer as { ref?: () => unknown; unref?: () => unknown };
    if (on) t.ref?.();
    else t.unref?.();
    return;
  }
  const deno = (
    globalThis as {
      Deno?: { refTimer?: (id: number) => void; unrefTimer?: (id: number) => void };
    }
  ).Deno;
  if (typeof timer === 'number') {
    if (on) deno?.refTimer?.(timer);
    else deno?.unrefTimer?.(timer);
  }
}
