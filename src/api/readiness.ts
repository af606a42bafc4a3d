/**
 * What /readyz asks: "can this process serve requests now?" Each part of the
 * process that must be ready registers a check by name (the database when the
 * app is created; the matcher once its index is loaded, and so on).
 */
export type ReadinessResult =
  { readonly ok: true } | { readonly ok: false; readonly reason: string };
export type ReadinessCheck = () => ReadinessResult | Promise<ReadinessResult>;

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, ReadinessResult>>;
}

const TIMEOUT_MS = 2_000;

export class Readiness {
  readonly #checks = new Map<string, ReadinessCheck>();
  #stopping = false;

  /** Adds a check, or replaces the one with the same name. */
  add(name: string, check: ReadinessCheck): void {
    this.#checks.set(name, check);
  }

  /** From now on not ready: load balancers stop sending traffic while we drain. */
  markStopping(): void {
    this.#stopping = true;
  }

  async evaluate(timeoutMs = TIMEOUT_MS): Promise<ReadinessReport> {
    const names = [...this.#checks.keys()];
    const results = await Promise.all(
      names.map((name) => runCheck(this.#checks.get(name) as ReadinessCheck, timeoutMs)),
    );
    const checks: Record<string, ReadinessResult> = Object.fromEntries(
      names.map((name, i) => [name, results[i]]),
    );
    if (this.#stopping) checks.process = { ok: false, reason: 'shutting down' };
    return { ready: Object.values(checks).every((r) => r.ok), checks };
  }
}

async function runCheck(check: ReadinessCheck, timeoutMs: number): Promise<ReadinessResult> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<ReadinessResult>((resolve) => {
    timer = setTimeout(
      () => resolve({ ok: false, reason: `no answer within ${timeoutMs} ms` }),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([Promise.resolve().then(check), timeout]);
  } catch (error) {
    return { ok: false, reason: error instanceof Error ? error.message : String(error) };
  } finally {
    clearTimeout(timer);
  }
}
