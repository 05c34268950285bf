/**
 * A map of at most `capacity` entries that drops the least recently used one to make room: for
 * per-key state kept across requests, whose keys come from config or request data and must not
 * grow an isolate's memory without end. Written here (a Map in use order, a dozen lines) rather
 * than taken from a package, to keep the edge bundle small.
 */
export class BoundedMap<K, V> {
  private readonly entries = new Map<K, V>();

  constructor(readonly capacity: number) {}

  /** The value of `key`, made by `create` on first use; either way it becomes the most recently used. */
  use(key: K, create: () => V): V {
    let v = this.entries.get(key);
    if (v === undefined) {
      v = create();
      if (this.entries.size >= this.capacity) this.entries.delete(this.entries.keys().next().value as K);
    } else this.entries.delete(key);
    this.entries.set(key, v);
    return v;
  }

  get size(): number {
    return this.entries.size;
  }
}
