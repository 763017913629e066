/**
 * A DataView over the whole ArrayBuffer behind a Uint8Array, made once per buffer instead of
 * once per call. Making a DataView is a call into V8's runtime (~140 ns on this VM, against a few
 * ns for a read through one), and a batch's header went through a new one three to five times on
 * its way from a produce call to a consumer: encoded, checked at append, given its baseOffset,
 * read back for each window that took it in. Batches come mostly from one slab or one socket read
 * in a row, so one remembered view serves them.
 *
 * Positions through the view are the buffer's: add `bytes.byteOffset`. It keeps the last buffer
 * it saw reachable (one buffer: a slab or a frame) until a different one comes.
 */
let lastBuffer: ArrayBufferLike | undefined;
let lastView: DataView | undefined;

export function bufferView(bytes: Uint8Array): DataView {
  const buffer = bytes.buffer;
  if (buffer !== lastBuffer) {
    lastBuffer = buffer;
    lastView = new DataView(buffer);
  }
  return lastView!;
}
