import { $ } from "./dom.ts";
import { ago, clock } from "./format.ts";

/**
 * Whether the page's data is live. The first failed poll shows a banner with the age of the data
 * and dims every panel (an operator must never read old numbers as current); the next poll that
 * succeeds clears it.
 */
export class Connection {
  lastOk: number | null = null;
  lostSince: number | null = null;
  reason = "";

  ok(now = Date.now()): boolean {
    const recovered = this.lostSince !== null;
    this.lastOk = now;
    this.lostSince = null;
    this.render(now);
    return recovered;
  }

  lost(reason: string, now = Date.now()): void {
    if (this.lostSince === null) this.lostSince = now;
    this.reason = reason;
    this.render(now);
  }

  /** Called every second too, so the ages keep counting while nothing answers. */
  render(now = Date.now()): void {
    const offline = this.lostSince !== null;
    document.body.classList.toggle("offline", offline);
    const banner = $("conn-banner");
    banner.hidden = !offline;
    if (offline)
      banner.textContent = `Control plane unreachable (${this.reason}) since ${clock(this.lostSince)}. ${this.lastOk ? `Showing data from ${ago(this.lastOk, now)}` : "No data yet"}; retrying every 2 s.`;
    const updated = $("updated");
    updated.className = `pill ${offline ? "bad" : "ok"}`;
    updated.textContent = offline
      ? `offline · data ${this.lastOk ? ago(this.lastOk, now).replace(" ago", " old") : "none"}`
      : this.lastOk
        ? `live · updated ${clock(this.lastOk)}`
        : "connecting…";
  }
}
