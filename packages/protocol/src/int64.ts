/**
 * int64 fields that hold JavaScript numbers (timestamps in ms): read and written as two 32-bit
 * halves, so the common case makes no BigInt.
 */

const TWO_POW_32 = 0x100000000;

/** An int64 field from a safe integer, without making a BigInt of it when it is not negative. */
export function setSafeInteger64(view: DataView, at: number, value: number): void {
  if (value < 0) {
    view.setBigInt64(at, BigInt(value));
    return;
  }
  view.setUint32(at, Math.floor(value / TWO_POW_32));
  view.setUint32(at + 4, value >>> 0);
}

/** Exact for safe integers; rounded (and so no longer a safe integer) beyond. */
export function getInt64AsNumber(view: DataView, at: number): number {
  return view.getInt32(at) * TWO_POW_32 + view.getUint32(at + 4);
}
