import { esc } from "./format.ts";

/** Client-side paging for long tables: a page of rows and a "‹ 1–20 of 100 ›" control. */
export class Pager {
  page = 0;
  constructor(
    readonly size: number,
    private readonly id: string,
    private readonly onChange: () => void,
  ) {
    document.addEventListener("click", (e) => {
      const b = (e.target as HTMLElement).closest<HTMLElement>(`[data-pager="${this.id}"]`);
      if (!b) return;
      this.page += Number(b.dataset.step);
      this.onChange();
    });
  }

  slice<T>(rows: T[]): { rows: T[]; controls: string } {
    const pages = Math.max(1, Math.ceil(rows.length / this.size));
    this.page = Math.min(Math.max(0, this.page), pages - 1);
    const from = this.page * this.size;
    const shown = rows.slice(from, from + this.size);
    const controls =
      rows.length <= this.size
        ? ""
        : `<div class="pager"><button class="secondary" data-pager="${esc(this.id)}" data-step="-1" ${this.page === 0 ? "disabled" : ""}>‹</button> ${from + 1}–${from + shown.length} of ${rows.length} <button class="secondary" data-pager="${esc(this.id)}" data-step="1" ${this.page >= pages - 1 ? "disabled" : ""}>›</button></div>`;
    return { rows: shown, controls };
  }
}
