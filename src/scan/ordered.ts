/**
 * `fn` over an async sequence with up to `concurrency` calls in flight,
 * results in input order: the walk's files are looked at (stat) several at
 * a time, so a file system's latency does not starve the hashing threads,
 * and the plan still comes out in walk order.
 */
export async function* mapOrdered<T, R>(
  items: AsyncIterable<T>,
  fn: (item: T) => Promise<R>,
  concurrency: number,
): AsyncGenerator<R> {
  const pending: Promise<R>[] = [];
  for await (const item of items) {
    const result = fn(item);
    // Awaited in order below; marked handled now so an early failure is not "unhandled".
    result.catch(() => undefined);
    pending.push(result);
    if (pending.length >= concurrency) yield await (pending.shift() as Promise<R>);
  }
  while (pending.length > 0) yield await (pending.shift() as Promise<R>);
}
