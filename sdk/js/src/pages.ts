import type { Transport } from "./http.js";

export interface PageMeta {
  page: number;
  per_page: number;
  total: number;
}

export interface ListParams {
  page?: number;
  perPage?: number;
}

/** One page of a list: its items (also iterable), where it stands, and the way to the next one. */
export class Page<T> implements Iterable<T> {
  constructor(
    readonly data: T[],
    readonly meta: PageMeta | undefined,
    private readonly fetchPage: (page: number) => Promise<Page<T>>,
  ) {}

  get length(): number {
    return this.data.length;
  }

  get total(): number {
    return this.meta?.total ?? this.data.length;
  }

  hasNextPage(): boolean {
    if (this.meta === undefined || this.data.length === 0) return false;
    return this.meta.page * this.meta.per_page < this.meta.total;
  }

  async nextPage(): Promise<Page<T> | undefined> {
    return this.hasNextPage() && this.meta !== undefined ? this.fetchPage(this.meta.page + 1) : undefined;
  }

  [Symbol.iterator](): Iterator<T> {
    return this.data[Symbol.iterator]();
  }
}

/**
 * A list request: `await` it for its first page, or `for await` over it for every item of every page.
 */
export class PageRequest<T> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  private first: Promise<Page<T>> | undefined;

  constructor(
    private readonly transport: Transport,
    private readonly path: string,
    private readonly params: object = {},
    private readonly itemsOf: (data: unknown) => T[] = (data) => data as T[],
  ) {}

  private load(page?: number): Promise<Page<T>> {
    const query = page === undefined ? this.params : { ...this.params, page };
    return this.transport.raw("GET", this.path, { query }).then((body) => {
      const envelope = body as { data?: unknown; meta?: PageMeta };
      const data = envelope.data ?? body;
      return new Page(this.itemsOf(data), envelope.meta, (next) => this.load(next));
    });
  }

  private firstPage(): Promise<Page<T>> {
    this.first ??= this.load();
    return this.first;
  }

  then<R1 = Page<T>, R2 = never>(
    onFulfilled?: ((page: Page<T>) => R1 | PromiseLike<R1>) | null,
    onRejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): Promise<R1 | R2> {
    return this.firstPage().then(onFulfilled, onRejected);
  }

  catch<R = never>(onRejected?: ((reason: unknown) => R | PromiseLike<R>) | null): Promise<Page<T> | R> {
    return this.firstPage().catch(onRejected);
  }

  finally(onFinally?: (() => void) | null): Promise<Page<T>> {
    return this.firstPage().finally(onFinally);
  }

  /** Every item of every page, in order. */
  async all(): Promise<T[]> {
    const items: T[] = [];
    for await (const item of this) items.push(item);
    return items;
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let page: Page<T> | undefined = await this.firstPage();
    while (page !== undefined) {
      yield* page.data;
      page = await page.nextPage();
    }
  }
}
