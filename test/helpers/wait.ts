// Waits for a condition the test cannot subscribe to (a status leaf, a list filling up), polling,
// bounded by time rather than by a count of tries: on a loaded machine the same count of tries
// takes longer than a fast one expects, so the bound is generous and only ends a hung test.
export async function until(cond: () => boolean, what: string, ms = 120_000, stepMs = 25): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out after ${ms / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, stepMs));
  }
}
