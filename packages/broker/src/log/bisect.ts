/**
 * The one binary search the log needs: over `count` sorted items, the index of the last one for
 * which `atOrBefore(i)` holds (the items where it holds form a prefix), or -1 if none does.
 * Sparse indexes, offset ranges and segment lookup all ask this question.
 */
export function lastIndexWhere(count: number, atOrBefore: (index: number) => boolean): number {
  let low = 0;
  let high = count - 1;
  let found = -1;
  while (low <= high) {
    const mid = (low + high) >>> 1;
    if (atOrBefore(mid)) {
      found = mid;
      low = mid + 1;
    } else {
      high = mid - 1;
    }
  }
  return found;
}
