// What one run did, for its audit entry: requests and status codes per host, which rules
// injected, how many tunnels. Counts only, never a header or a value.
export class RunStats {
  readonly hosts = new Map<string, { requests: number; statuses: Record<string, number>; intercepted: boolean }>();
  readonly rulesUsed = new Map<string, number>();
  tunnels = 0;
  /** Copies of an injected credential the proxy took out of answers before the child saw them. */
  echoesReplaced = 0;

  #host(host: string) {
    let entry = this.hosts.get(host);
    if (!entry) {
      entry = { requests: 0, statuses: {}, intercepted: false };
      this.hosts.set(host, entry);
    }
    return entry;
  }

  connect(host: string): void {
    this.#host(host).intercepted = true;
  }

  tunnel(host: string): void {
    this.tunnels++;
    this.#host(host);
  }

  request(host: string): void {
    this.#host(host).requests++;
  }

  status(host: string, status: number): void {
    const statuses = this.#host(host).statuses;
    statuses[status] = (statuses[status] ?? 0) + 1;
  }

  echoed(copies: number): void {
    this.echoesReplaced += copies;
  }

  used(rule: string): void {
    this.rulesUsed.set(rule, (this.rulesUsed.get(rule) ?? 0) + 1);
  }

  toJSON(): Record<string, unknown> {
    return {
      hosts: Object.fromEntries(this.hosts),
      rules_used: Object.fromEntries(this.rulesUsed),
      tunnels: this.tunnels,
      echoes_replaced: this.echoesReplaced,
    };
  }
}
