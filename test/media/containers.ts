/** Test helpers: just enough container parsing to check what ffmpeg wrote, ffprobe being absent here. */

/** The types of the top-level ISO BMFF boxes of an mp4, in file order. */
export function mp4TopLevelBoxes(bytes: Uint8Array): string[] {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const types: string[] = [];
  for (let at = 0; at + 8 <= bytes.length; ) {
    let size = view.getUint32(at);
    const type = String.fromCharCode(...bytes.subarray(at + 4, at + 8));
    if (size === 1) size = Number(view.getBigUint64(at + 8));
    if (size === 0) size = bytes.length - at;
    if (size < 8) throw new Error(`bad box size at ${at}`);
    types.push(type);
    at += size;
  }
  return types;
}

const EBML_MAGIC = [0x1a, 0x45, 0xdf, 0xa3];

/** True when the bytes start with an EBML header whose DocType is "webm". */
export function isWebm(bytes: Uint8Array): boolean {
  if (!EBML_MAGIC.every((b, i) => bytes[i] === b)) return false;
  // DocType element id 0x4282, a one-byte size 0x84, then "webm"
  const header = Buffer.from(bytes.subarray(0, 64));
  return header.includes(Buffer.from([0x42, 0x82, 0x84, ...Buffer.from('webm')]));
}

const CLUSTER_ID = Buffer.from([0x1f, 0x43, 0xb6, 0x75]);

/**
 * The Segment Info's Duration of a webm, in its timecode units (ms at the default TimecodeScale), or null
 * when the header (everything before the first Cluster) has none. Duration is element 0x4489, a float.
 */
export function webmDuration(bytes: Uint8Array): number | null {
  const buffer = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const header = buffer.subarray(0, buffer.indexOf(CLUSTER_ID));
  for (let at = header.indexOf(Buffer.from([0x44, 0x89])); at >= 0; at = header.indexOf(Buffer.from([0x44, 0x89]), at + 1)) {
    if (header[at + 2] === 0x88) return header.readDoubleBE(at + 3);
    if (header[at + 2] === 0x84) return header.readFloatBE(at + 3);
  }
  return null;
}
